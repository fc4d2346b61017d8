import {strict as assert} from 'node:assert';
import type {PubSub} from '@google-cloud/pubsub';
import {cleanupStaleLocks, configureLocking, peek} from '../../shared';
import {delay, uniqueId} from '../support/ids';
import {pubsubClient} from '../support/pubsub-fixtures';
import {DEFAULT_STRONG_TARGET, STRONG_TARGETS} from '../support/strong-targets';
import {ledgerReader, workerStoreEnv} from '../support/worker-ledger';
import {
  startWorkerInstance,
  type WorkerInstance,
} from '../support/worker-instance';

const LEASE_MS = 1000;
const DEADLINE_MS = 1500;
/** Instance 1's work inside the lock, before its write: it outlasts the deadline and the lease. */
const WORK_MS = 4000;
const TARGETS = [
  DEFAULT_STRONG_TARGET,
  ...STRONG_TARGETS.filter(target => target.store === 'firestore'),
];

/**
 * End to end, the fault the platform really produces: an instance is frozen (SIGSTOP) while it holds
 * an account's lock, past its deadline (renewals stopped) and its lease. Another instance takes
 * the lock and applies the account's next events. The first instance resumes and reaches its
 * write: the write is refused, the event comes back, and every event counts exactly once.
 */
for (const target of TARGETS)
  describe(`end to end on the ${target.name}: a worker instance paused past its lease and deadline`, function () {
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

    it('the late instance never overwrites: final balance exact, each event applied once', async () => {
      const run = uniqueId('pause').replace(/[^a-zA-Z0-9-]/g, '-');
      const account = `${run}-account`;
      const ledger = ledgerReader(target);
      const output: string[] = [];
      const waitForBalance = async (
        of: string,
        want: number,
        withinMs: number,
      ) => {
        let balance: number | undefined;
        let lastCleanup = Date.now();
        for (
          const deadline = Date.now() + withinMs;
          balance !== want && Date.now() < deadline;
          await delay(200)
        ) {
          balance = await ledger.balance(of);
          // The scheduled cleanup (every second here): events parked behind the frozen holder
          // are handed the lock once its lease is over.
          if (Date.now() - lastCleanup >= 1000) {
            lastCleanup = Date.now();
            await cleanupStaleLocks();
          }
        }
        return balance;
      };
      try {
        const env = {
          ...workerStoreEnv(target),
          EXAMPLE_WORKER_LEASE_MS: String(LEASE_MS),
          EXAMPLE_WORKER_DEADLINE_MS: String(DEADLINE_MS),
        };
        const late = await startWorkerInstance(
          pubsub,
          `${run}-late`,
          {...env, EXAMPLE_WORKER_WORK_MS: String(WORK_MS)},
          output,
        );
        instances.push(late);
        const next = await startWorkerInstance(pubsub, `${run}-next`, env);
        instances.push(next);

        // Warm both instances (a cold client's first grant can pass its deadline), each on an account
        // of its own, then e1 to instance 1.
        for (const [name, instance] of Object.entries({late, next}))
          await instance.work.publishMessage({
            json: {
              account: `${account}-${name}`,
              amount: 1,
              eventId: `${run}-${name}`,
            },
          });
        for (const name of ['late', 'next'])
          assert.equal(
            await waitForBalance(`${account}-${name}`, 1, 60_000),
            1,
            `instance ${name} is warm`,
          );
        await late.work.publishMessage({
          json: {account, amount: 1, eventId: `${run}-e1`},
        });
        const running = (line: string) =>
          line.includes('"outcome":"ran"') &&
          line.includes(JSON.stringify(`account:${account}`));
        for (
          const deadline = Date.now() + 30_000;
          !output.some(running) && Date.now() < deadline;
          await delay(20)
        );
        assert.ok(output.some(running), 'instance 1 runs e1 holding the lock');
        assert.ok(await peek(`account:${account}`), 'with the lock stored');
        // Past the deadline renewals have stopped; freeze it there, inside its work.
        await delay(DEADLINE_MS + 200);
        late.signal('SIGSTOP');

        await next.work.publishMessage({
          json: {account, amount: 10, eventId: `${run}-e2`},
        });
        await next.work.publishMessage({
          json: {account, amount: 100, eventId: `${run}-e3`},
        });
        assert.equal(
          await waitForBalance(account, 110, 60_000),
          110,
          'instance 2 applied e2 and e3 while instance 1 was frozen',
        );

        late.signal('SIGCONT');
        // Instance 1 finishes its work and reaches its write; e1 comes back and applies on the current lock.
        const balance = await waitForBalance(account, 111, 30_000);
        await delay(2000); // a late overwrite or a second application would land now
        assert.deepEqual(
          [balance, await ledger.balance(account)],
          [111, 111],
          'e1, e2 and e3 applied once each (1 + 10 + 100), none overwritten',
        );
        assert.ok(
          output.some(line =>
            line.includes('LockError: refused a write with fence'),
          ),
          "instance 1's late write was refused by its fence (STALE_FENCE)",
        );
      } finally {
        await ledger.close();
      }
    });
  });
