import {strict as assert} from 'node:assert';
import {parseDeployArgs} from '../../infra/deploy/deploy-options';
import {functionDeployCommand} from '../../infra/deploy/gcloud-commands';
import {FUNCTIONS} from '../../infra/topology';
import {
  cleanupStaleLocks,
  configureLocking,
  forceRelease,
  Lock,
  LockError,
  LockKind,
  peek,
} from '../../shared';
import {lockedHandler} from '../../shared/pubsub';
import {FUNCTION_TIMEOUT_MS} from '../../shared/pubsub/function-timeout';
import {
  DEFAULT_HANDLER_LEASE_MS,
  resolveLockedHandlerOptions,
} from '../../shared/pubsub/locked-handler-options';
import {delay, uniqueId} from '../support/ids';
import {memcacheClient} from '../support/memcache-target';
import {keyOf, pubsubEvent} from '../support/pubsub-fixtures';
import {DEFAULT_STRONG_TARGET, STRONG_TARGETS} from '../support/strong-targets';
import {warmUp} from '../support/warm-up';

/** Where lockedHandler's lease is exercised: every STRONG store, and memcached (WEAK). */
const TARGETS = [
  ...STRONG_TARGETS.map(target => ({
    name: target.name,
    kind: LockKind.STRONG,
    config: () => target.config(),
  })),
  {
    name: 'memcached',
    kind: LockKind.WEAK,
    config: () => DEFAULT_STRONG_TARGET.config(),
  },
];

/**
 * Polls like a thief until `stop` resolves or it took the lock: an acquire with stealAfterMs: 50
 * (and, where the store has a cleanup, a cleanup with maxAgeMs: 0) every 200 ms. Resolves what it
 * took once its last call has settled, so a caller that awaits it knows no attempt is still in flight.
 */
async function thief(
  identifier: string,
  kind: LockKind,
  stop: Promise<unknown>,
): Promise<{taken: Lock[]; cleaned: number; tries: number}> {
  let stopped = false;
  void stop.finally(() => (stopped = true));
  const taken: Lock[] = [];
  let cleaned = 0;
  let tries = 0;
  while (!stopped && taken.length === 0) {
    tries++;
    const lock = await Lock.acquire(identifier, {
      kind,
      wait: false,
      stealAfterMs: 50,
    });
    if (lock) taken.push(lock);
    else if (kind === LockKind.STRONG)
      cleaned += (await cleanupStaleLocks({maxAgeMs: 0})).deleted;
    // Every 200 ms, as the test has it: on the Firestore-mode emulator, whose transactions
    // lock pessimistically, a cleanup transaction every few milliseconds would starve any renewal.
    await Promise.race([delay(200), stop]);
  }
  return {taken, cleaned, tries};
}

/** lockedHandler with a lease, invoked directly with CloudEvents, on the real stores. */
describe('lockedHandler leases', () => {
  after(() => configureLocking());

  for (const target of TARGETS) {
    describe(`on the ${target.name}`, () => {
      const kind = target.kind;
      beforeEach(async () => {
        configureLocking({
          ...target.config(),
          memcache: memcacheClient(),
          namespace: uniqueId('lease-ns').replace(/:/g, '-'),
        });
        await warmUp(kind);
      });

      it('a handler that runs for three leases keeps its lock: a thief polling every 200 ms with stealAfterMs: 50 (and cleanup with maxAgeMs: 0) never takes it', async () => {
        const leaseMs = 800;
        const key = uniqueId('long');
        const identifier = `job:${key}`;
        let seen:
          | {held: Lock; aborted: boolean; holderId: string | undefined}
          | undefined;
        let running!: () => void;
        const holding = new Promise<void>(resolve => (running = resolve));
        let stopThief!: () => void;
        const thiefStopped = new Promise<void>(
          resolve => (stopThief = resolve),
        );
        const thieving: {done?: ReturnType<typeof thief>} = {};
        const handler = lockedHandler(
          {identifier: keyOf, kind, leaseMs},
          async (_event, held) => {
            running();
            await delay(leaseMs * 3.5);
            // The thief stops, and its last attempt settles, before this handler returns and
            // lockedHandler releases: an acquire still in flight at the release would otherwise
            // rightly get the freed lock, which is no theft.
            stopThief();
            await thieving.done;
            seen = {
              held,
              aborted: held.signal.aborted,
              holderId: (await peek(identifier, {kind}))?.holderId,
            };
          },
        );
        const started = Date.now();
        const run = handler(pubsubEvent('projects/p/topics/unused', {key}));
        await holding;
        thieving.done = thief(identifier, kind, thiefStopped);
        await run;
        const stolen = await thieving.done;
        assert.ok(
          Date.now() - started >= leaseMs * 3,
          'the handler ran for three leases',
        );
        assert.ok(
          stolen.tries >= 3,
          `the thief kept trying (${stolen.tries} tries)`,
        );
        assert.deepEqual(
          stolen.taken.map(lock => lock.holderId),
          [],
          'the thief never got the lock',
        );
        assert.equal(stolen.cleaned, 0, 'cleanup never deleted it');
        assert.ok(seen, 'the handler ran');
        assert.equal(
          seen.held.identifier,
          identifier,
          'the handler was given its held lock',
        );
        assert.equal(seen.held.leaseMs, leaseMs);
        assert.equal(
          seen.held.fence === undefined,
          kind === LockKind.WEAK,
          'with a fence on STRONG',
        );
        assert.equal(seen.aborted, false, 'its signal never aborted');
        assert.equal(
          seen.holderId,
          seen.held.holderId,
          'it still held the lock at the end',
        );
        assert.equal(
          await peek(identifier, {kind}),
          null,
          'and released it after',
        );
      });

      it('a lock removed from outside mid-run (forceRelease) aborts the signal and makes the invocation reject LOCK_LOST', async () => {
        const leaseMs = 600;
        const key = uniqueId('removed');
        const identifier = `job:${key}`;
        let abortedWithin: number | undefined;
        let running!: () => void;
        const started = new Promise<void>(resolve => (running = resolve));
        // The handler ignores the signal and finishes normally: the invocation must still fail.
        const handler = lockedHandler(
          {identifier: keyOf, kind, leaseMs},
          async (_event, held) => {
            running();
            const removedAt = await removed;
            for (
              const until = Date.now() + 10 * leaseMs;
              !held.signal.aborted && Date.now() < until;
            )
              await delay(20);
            if (held.signal.aborted) abortedWithin = Date.now() - removedAt;
          },
        );
        let removedNow!: (at: number) => void;
        const removed = new Promise<number>(resolve => (removedNow = resolve));
        const outcome = handler(
          pubsubEvent('projects/p/topics/unused', {key}),
        ).then(
          () => 'resolved (acknowledged)',
          (error: unknown) => error,
        );
        await started;
        assert.ok(
          await forceRelease(identifier, {kind}),
          'an operator removed the lock',
        );
        removedNow(Date.now());
        const error = await outcome;
        assert.ok(
          error instanceof LockError,
          `the invocation rejected: ${String(error)}`,
        );
        assert.equal(error.code, 'LOCK_LOST');
        assert.ok(
          abortedWithin !== undefined,
          'the handler saw its signal abort while it ran',
        );
        console.log(
          `      signal aborted ${abortedWithin} ms after the removal (renewal every ~${Math.floor(leaseMs / 3)} ms)`,
        );
      });
    });
  }

  for (const target of STRONG_TARGETS) {
    describe(`the deadline: on the ${target.name}`, () => {
      beforeEach(async () => {
        configureLocking({
          ...target.config(),
          namespace: uniqueId('deadline-ns').replace(/:/g, '-'),
        });
        await warmUp(LockKind.STRONG);
      });

      it("renewal stops at the function's deadline: the lease then runs out and the lock is taken while the handler still runs; the invocation rejects LOCK_LOST", async () => {
        const leaseMs = 300;
        const deadlineMs = 600;
        const key = uniqueId('deadline');
        const identifier = `job:${key}`;
        let finished!: () => void;
        const handlerDone = new Promise<void>(resolve => (finished = resolve));
        let running!: () => void;
        const holding = new Promise<void>(resolve => (running = resolve));
        const handler = lockedHandler(
          {identifier: keyOf, leaseMs, deadlineMs},
          async () => {
            running();
            await delay(deadlineMs + leaseMs * 5);
            finished();
          },
        );
        const started = Date.now();
        const outcome = handler(
          pubsubEvent('projects/p/topics/unused', {key}),
        ).then(
          () => 'resolved (acknowledged)',
          (error: unknown) => error,
        );
        await holding;
        const stolen = await thief(identifier, LockKind.STRONG, handlerDone);
        const error = await outcome;
        assert.equal(
          stolen.taken.length,
          1,
          'a plain acquire took the lock once renewal had stopped',
        );
        const takenAt = stolen.taken[0]?.acquiredAt.getTime() ?? 0;
        assert.ok(
          takenAt - started >= deadlineMs,
          `not before the deadline (${takenAt - started} ms after the invocation began)`,
        );
        assert.ok(
          error instanceof LockError && error.code === 'LOCK_LOST',
          `the invocation rejected LOCK_LOST: ${String(error)}`,
        );
        await stolen.taken[0]?.release();
      });
    });
  }

  describe('the deadline', () => {
    it('defaults: a 60 s lease, and the deadline is the timeout the deploy gives every function', () => {
      const resolved = resolveLockedHandlerOptions({identifier: keyOf});
      assert.equal(resolved.leaseMs, DEFAULT_HANDLER_LEASE_MS);
      assert.equal(resolved.leaseMs, 60_000);
      assert.equal(resolved.deadlineMs, FUNCTION_TIMEOUT_MS);
      const deploy = parseDeployArgs([
        '--project',
        'my-project',
        '--region',
        'europe-west1',
      ]);
      for (const spec of FUNCTIONS)
        assert.ok(
          functionDeployCommand(spec, deploy, 'nodejs24').includes(
            `--timeout=${FUNCTION_TIMEOUT_MS / 1000}s`,
          ),
          spec.name,
        );
    });

    it('refuses a bad leaseMs or deadlineMs when the function is defined', () => {
      for (const [options, mentions] of [
        [{leaseMs: 50}, /leaseMs must be a number of milliseconds from 100/],
        [{leaseMs: '60000'}, /leaseMs must be .*got string/],
        [{deadlineMs: -1}, /deadlineMs must be a number of milliseconds/],
        [
          {deadlineMs: Number.NaN},
          /deadlineMs must be a number of milliseconds/,
        ],
      ] as const) {
        assert.throws(
          () =>
            lockedHandler(
              {identifier: keyOf, ...(options as object)},
              () => undefined,
            ),
          (error: unknown) =>
            error instanceof LockError &&
            error.code === 'INVALID_ARGUMENT' &&
            mentions.test(error.message),
        );
      }
    });
  });
});
