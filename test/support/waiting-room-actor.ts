/**
 * One "instance" of the waiting-room race test: a separate OS process running WR_ACTORS actors
 * (test/support/waiting-room-protocol.ts) on one lock from WR_START_AT (epoch ms) for
 * WR_DURATION_MS, each at most WR_MAX_ARRIVALS messages (a hand-off chain is serial: a few per
 * second on a loaded emulator), then handling the wake-ups they still hold. Prints each event as one
 * JSON line.
 */
import {Datastore} from '@google-cloud/datastore';
import {Firestore} from '@google-cloud/firestore';
import type {LockBackend} from '../../shared';
import {createDatastoreBackend} from '../../shared/stores/datastore/create-datastore-backend';
import {createFirestoreBackend} from '../../shared/stores/firestore/create-firestore-backend';
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
  const durationMs = Number(requiredEnv('WR_DURATION_MS'));
  const maxArrivals = Number(requiredEnv('WR_MAX_ARRIVALS'));
  const emit = (event: RaceEvent) =>
    process.stdout.write(`${JSON.stringify(event)}\n`);
  const settings = {
    identifier: requiredEnv('WR_IDENTIFIER'),
    leaseMs: Number(requiredEnv('WR_LEASE_MS')),
    plainReleaseRate: Number(requiredEnv('WR_PLAIN_RELEASE_RATE')),
  };
  // One call first: a cold channel's first call is slow, and a late starter must not miss the race.
  await backend.peek(settings.identifier);
  await new Promise(resolve =>
    setTimeout(resolve, Math.max(0, startAt - Date.now())),
  );
  // A process that started late (a loaded machine) still races for its full duration.
  const until = Math.max(startAt, Date.now()) + durationMs;
  await Promise.all(
    Array.from({length: Number(requiredEnv('WR_ACTORS'))}, async (_, a) => {
      const actor = new RaceActor(backend, settings, emit);
      for (let n = 0; n < maxArrivals && Date.now() < until; n++) {
        // Arrivals spread out, so that some find the lock free and some find it held.
        await new Promise(resolve => setTimeout(resolve, Math.random() * 60));
        await actor.arrive(
          `${name}.${a}.${n}`,
          raceMessage(`${name}.${a}.${n}`),
        );
        while (await actor.wakeOne());
      }
      while (await actor.wakeOne());
    }),
  );
  if (process.env.WR_DEBUG)
    process.stderr.write(
      `${name}: ended ${Date.now() - startAt} ms after the start\n`,
    );
}

runAsProcess(main);
