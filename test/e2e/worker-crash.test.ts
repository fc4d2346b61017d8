import {strict as assert} from 'node:assert';
import type {PubSub} from '@google-cloud/pubsub';
import {cleanupStaleLocks, configureLocking, peek} from '../../shared';
import {delay, uniqueId} from '../support/ids';
import {pubsubClient} from '../support/pubsub-fixtures';
import {DEFAULT_STRONG_TARGET} from '../support/strong-targets';
import {ledgerReader, workerStoreEnv} from '../support/worker-ledger';
import {
  startWorkerInstance,
  type WorkerInstance,
} from '../support/worker-instance';

const LEASE_MS = 3000;
const target = DEFAULT_STRONG_TARGET;

/**
 * End to end: an instance of the example worker is killed (SIGKILL) while it holds an account's
 * lock. Another instance applies the account's next event once the dead one's lease has run out:
 * within about one lease, not when a cleanup finally deletes the lock.
 */
describe('end to end: a worker instance killed while it holds a lock', function () {
  this.timeout(120_000);
  const instances: WorkerInstance[] = [];
  let pubsub: PubSub;

  before(() => {
    pubsub = pubsubClient();
    configureLocking(target.config());
  });
  after(async () => {
    for (const instance of instances) instance.signal('SIGKILL');
    await pubsub.close();
    configureLocking();
  });

  it(`the account's next event is applied by another instance within about the lease (${LEASE_MS} ms) and a cleanup run`, async () => {
    const run = uniqueId('crash').replace(/[^a-zA-Z0-9-]/g, '-');
    const account = `${run}-account`;
    const ledger = ledgerReader(target);
    const env = {
      ...workerStoreEnv(target),
      EXAMPLE_WORKER_LEASE_MS: String(LEASE_MS),
    };

    // The first instance takes the account's lock, then "works" for a minute: it will not finish.
    const doomed = await startWorkerInstance(pubsub, `${run}-doomed`, {
      ...env,
      EXAMPLE_WORKER_WORK_MS: '60000',
    });
    instances.push(doomed);
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
    doomed.signal('SIGKILL');

    const survivor = await startWorkerInstance(pubsub, `${run}-survivor`, env);
    instances.push(survivor);
    await survivor.work.publishMessage({
      json: {account, amount: 5, eventId: `${run}-second`},
    });
    // The event parks behind the dead holder. Once the lease is over, the scheduled cleanup (here
    // called every second, as a schedule of once a minute would, sooner) hands the lock to it.
    let balance: number | undefined;
    let swept = 0;
    for (
      const deadline = Date.now() + 60_000;
      balance === undefined && Date.now() < deadline;
      await delay(100)
    ) {
      balance = await ledger.balance(account);
      if (Date.now() > killedAt + LEASE_MS + swept * 1000) {
        swept++;
        await cleanupStaleLocks();
      }
    }
    const recoveredMs = Date.now() - killedAt;
    console.log(
      `      worker crash: the account's next event applied ${recoveredMs} ms after the holder was killed (lease ${LEASE_MS} ms)`,
    );
    assert.equal(
      balance,
      5,
      'the next event was applied by the surviving instance; the killed one never wrote',
    );
  });
});
