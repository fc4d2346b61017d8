/**
 * One "instance" of the waiting-room race test: a separate OS process running WR_ACTORS actors
 * (test/support/waiting-room-protocol.ts) on one lock until WR_UNTIL (epoch ms), from WR_START_AT,
 * then handling the wake-ups they still hold. Prints each event as one JSON line.
 */
import {Datastore} from '@google-cloud/datastore';
import {Firestore} from '@google-cloud/firestore';
import type {LockBackend} from '../../shared';
import {createDatastoreBackend} from '../../shared/datastore/create-datastore-backend';
import {createFirestoreBackend} from '../../shared/firestore/create-firestore-backend';
import {RaceActor, type RaceEvent} from './waiting-room-protocol';
import {raceMessage} from './waiting-room-fixture';
import {requiredEnv, runAsProcess} from './worker-process';

async function backendFromEnv(): Promise<LockBackend> {
  const host = requiredEnv('WR_HOST');
  const projectId = requiredEnv('WR_PROJECT');
  const namespace = requiredEnv('WR_NAMESPACE');
  return requiredEnv('WR_STORE') === 'firestore'
    ? createFirestoreBackend(
        new Firestore({
          projectId,
          host,
          ssl: false,
          customHeaders: {Authorization: 'Bearer owner'},
        }),
        {namespace},
      )
    : createDatastoreBackend(
        new Datastore({projectId, apiEndpoint: host, namespace}),
        {namespace},
      );
}

async function main(): Promise<void> {
  const backend = await backendFromEnv();
  const name = requiredEnv('WR_NAME');
  const startAt = Number(requiredEnv('WR_START_AT'));
  const until = Number(requiredEnv('WR_UNTIL'));
  const emit = (event: RaceEvent) =>
    process.stdout.write(`${JSON.stringify(event)}\n`);
  const settings = {
    identifier: requiredEnv('WR_IDENTIFIER'),
    leaseMs: Number(requiredEnv('WR_LEASE_MS')),
    plainReleaseRate: Number(requiredEnv('WR_PLAIN_RELEASE_RATE')),
  };
  await new Promise(resolve =>
    setTimeout(resolve, Math.max(0, startAt - Date.now())),
  );
  await Promise.all(
    Array.from({length: Number(requiredEnv('WR_ACTORS'))}, async (_, a) => {
      const actor = new RaceActor(backend, settings, emit);
      for (let n = 0; Date.now() < until; n++) {
        await actor.arrive(
          `${name}.${a}.${n}`,
          raceMessage(`${name}.${a}.${n}`),
        );
        while (await actor.wakeOne());
      }
      while (await actor.wakeOne());
    }),
  );
}

runAsProcess(main);
