import {strict as assert} from 'node:assert';
import type {ChildProcess} from 'node:child_process';
import type {PubSub} from '@google-cloud/pubsub';
import {ACCOUNT_KIND, APPLIED_EVENT_KIND} from '../../functions/example-worker';
import {freePort} from '../../infra/ports';
import {configureLocking, peek} from '../../shared';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {TEST_PROJECT} from '../support/global-setup';
import {delay, uniqueId} from '../support/ids';
import {pubsubClient, topicPushingTo} from '../support/pubsub-fixtures';
import {startExampleWorkerServer, waitForHttp} from '../support/worker-server';

const LEASE_MS = 3000;
const firestore = DATASTORE_TARGETS[1];

/**
 * End to end: an instance of the example worker is killed (SIGKILL) while it holds an account's
 * lock. Another instance applies the account's next event once the dead one's lease has run out:
 * within about one lease, not when a cleanup finally deletes the lock.
 */
describe('end to end: a worker instance killed while it holds a lock', function () {
  this.timeout(120_000);
  const servers: ChildProcess[] = [];
  let pubsub: PubSub;

  before(() => {
    pubsub = pubsubClient();
    configureLocking({datastore: firestore?.client()});
  });
  after(async () => {
    for (const server of servers) {
      try {
        if (server.pid) process.kill(-server.pid, 'SIGKILL');
      } catch {
        // Already gone: the test killed it.
      }
    }
    await pubsub.close();
    configureLocking();
  });

  /** One instance: a Functions Framework server fed by its own work topic, re-queueing to its own retry topic. */
  async function instance(
    run: string,
    name: string,
    env: Record<string, string>,
  ) {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const delivery = {
      ackDeadlineSeconds: 30,
      retryPolicy: {minimumBackoff: {seconds: 1}, maximumBackoff: {seconds: 2}},
    };
    const retry = await topicPushingTo(
      pubsub,
      `retry-${run}-${name}`,
      baseUrl,
      delivery,
    );
    const server = startExampleWorkerServer(port, {
      DATASTORE_EMULATOR_HOST: firestore?.host(),
      GOOGLE_CLOUD_PROJECT: TEST_PROJECT,
      EXAMPLE_RETRY_TOPIC: retry.topic,
      EXAMPLE_WORKER_LEASE_MS: String(LEASE_MS),
      ...env,
    });
    servers.push(server);
    await waitForHttp(port);
    const work = await topicPushingTo(
      pubsub,
      `work-${run}-${name}`,
      baseUrl,
      delivery,
    );
    return {server, work: work.publisher};
  }

  it(`the account's next event is applied by another instance within about the lease (${LEASE_MS} ms)`, async () => {
    const run = uniqueId('crash').replace(/[^a-zA-Z0-9-]/g, '-');
    const account = `${run}-account`;
    const db = firestore?.client();
    assert.ok(db);

    // The first instance takes the account's lock, then "works" for a minute: it will not finish.
    const doomed = await instance(run, 'doomed', {
      EXAMPLE_WORKER_WORK_MS: '60000',
    });
    await doomed.work.publishMessage({
      json: {account, amount: 1, eventId: `${run}-first`},
    });
    let holder = null;
    for (
      const deadline = Date.now() + 30_000;
      !holder && Date.now() < deadline;
    )
      holder = (await peek(`account:${account}`)) ?? (await delay(100), null);
    assert.ok(holder, 'the first instance holds the account lock');
    assert.equal(holder.leaseMs, LEASE_MS, 'with a lease');

    const killedAt = Date.now();
    process.kill(-(doomed.server.pid as number), 'SIGKILL');

    const survivor = await instance(run, 'survivor', {});
    await survivor.work.publishMessage({
      json: {account, amount: 5, eventId: `${run}-second`},
    });
    let applied = false;
    for (
      const deadline = Date.now() + 60_000;
      !applied && Date.now() < deadline;
      await delay(100)
    ) {
      const [entity] = await db.get(
        db.key([APPLIED_EVENT_KIND, `${run}-second`]),
      );
      applied = entity !== undefined;
    }
    const recoveredMs = Date.now() - killedAt;
    console.log(
      `      worker crash: the account's next event applied ${recoveredMs} ms after the holder was killed (lease ${LEASE_MS} ms)`,
    );
    assert.ok(applied, 'the next event was applied by the surviving instance');
    const [balance] = await db.get(db.key([ACCOUNT_KIND, account]));
    assert.equal(balance?.balance, 5, 'the killed instance never wrote');
  });
});
