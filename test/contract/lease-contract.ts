import {strict as assert} from 'node:assert';
import sinon from 'sinon';
import {
  cleanupStaleLocks,
  configureLocking,
  forceRelease,
  Lock,
  lock,
  LockError,
  LockKind,
  peek,
} from '../../shared';
import type {BackendFixture} from '../support/backend-fixtures';
import {delay, uniqueId} from '../support/ids';
import {whenAborted} from '../support/when-aborted';

/**
 * Leases, the same on every backend (built per fixture, as lock-contract.ts): a lock lives exactly as long as its holder renews
 * it. The rules (shared/core/taking-rules.ts): a live lease is never taken or cleaned up; an expired one
 * is free to every acquire; a lease-less lock keeps djangae's rules, measured from its last sign of
 * life (grant or renewal).
 */
const isLost = (error: unknown) =>
  error instanceof LockError && error.code === 'LOCK_LOST';

export function describeLeaseContract(fixture: BackendFixture): void {
  describe(`leases: ${fixture.name}`, function () {
    this.timeout(30_000);
    const kind = fixture.kind;
    // The kind is the capability: STRONG grants carry a fence, WEAK ones none (see FenceOf).
    const fenced: boolean = kind === LockKind.STRONG;
    before(async () => {
      configureLocking(fixture.config());
      // A cold client's first call (connecting, the precondition probe) can take longer than the
      // short leases below; real leases are seconds to minutes.
      await (await Lock.acquire(uniqueId('warm-up'), {kind}))?.release();
    });
    afterEach(() => sinon.restore());
    after(() => configureLocking());

    it('a renewing holder lives through three leases: a thief that may steal after 50 ms, polling every 200 ms, and cleanup with maxAgeMs 0 never take it', async () => {
      const id = uniqueId('renewing');
      const leaseMs = 900;
      const held = await Lock.acquire(id, {kind, leaseMs, autoRenew: true});
      assert.ok(held);
      const until = Date.now() + 3 * leaseMs + 300;
      let polls = 0;
      while (Date.now() < until) {
        assert.equal(
          await Lock.acquire(id, {kind, wait: false, stealAfterMs: 50}),
          null,
          `poll ${polls}: a live lease is never stolen`,
        );
        if (kind === LockKind.STRONG) await cleanupStaleLocks({maxAgeMs: 0});
        assert.equal(
          (await peek(id, {kind}))?.holderId,
          held.holderId,
          `poll ${polls}: still the holder's`,
        );
        polls++;
        await delay(200);
      }
      assert.ok(polls >= 3, `${polls} polls`);
      assert.equal(held.signal.aborted, false);
      assert.equal(await held.release(), true);
    });

    it('an un-renewed lease, once expired, is free to a plain acquire; the old holder learns it lost the lock', async () => {
      const id = uniqueId('expired');
      const old = await Lock.acquire(id, {kind, leaseMs: 150});
      assert.ok(old);
      assert.equal(
        await Lock.acquire(id, {kind, wait: false}),
        null,
        'live: not free',
      );
      await delay(400);
      const next = await Lock.acquire(id, {kind, wait: false});
      assert.ok(next, 'expired: free to an acquire without stealAfterMs');
      if (fenced)
        assert.ok(
          (next.fence as bigint) > (old.fence as bigint),
          'the takeover has a higher fence',
        );
      assert.equal(await old.renew(), false);
      assert.equal(old.signal.aborted, true);
      assert.ok(isLost(old.signal.reason));
      assert.equal(await old.release(), false);
      assert.equal(
        (await peek(id, {kind}))?.holderId,
        next.holderId,
        "the new holder's lock is untouched",
      );
      assert.equal(await next.release(), true);
    });

    it('renew() extends the lease from now and keeps the fence; once a lease has run out unrenewed, even with nobody taking it, the signal has aborted, renew() is false, and release() still removes the lock', async () => {
      const id = uniqueId('renew');
      const held = await Lock.acquire(id, {kind, leaseMs: 800});
      assert.ok(held);
      await delay(500);
      assert.equal(await held.renew(), true);
      await delay(500);
      assert.equal(
        await Lock.acquire(id, {kind, wait: false}),
        null,
        '1,000 ms after the grant, 500 ms after the renewal: live',
      );
      assert.equal(
        (await peek(id, {kind}))?.fence,
        held.fence,
        'the fence survives renewal',
      );
      // 1,100 ms after the renewal: expired by 300 ms (on memcached the key outlives a lease by at least 1 s).
      await delay(600);
      assert.equal(held.signal.aborted, true, 'the lease ran out');
      assert.ok(isLost(held.signal.reason));
      assert.equal(
        await held.renew(),
        false,
        'a lapsed lease is not revived, although nobody took it',
      );
      assert.equal(
        (await peek(id, {kind}))?.holderId,
        held.holderId,
        'nobody took it: still in the store',
      );
      assert.equal(await held.release(), true, 'release() removes it');
      assert.equal(await peek(id, {kind}), null);
    });

    it('a lease-less renew() refreshes the last sign of life that stealing measures from', async () => {
      const id = uniqueId('lease-less-renew');
      const held = await Lock.acquire(id, {kind});
      assert.ok(held);
      await delay(300);
      assert.equal(await held.renew(), true);
      assert.equal(
        await Lock.acquire(id, {kind, wait: false, stealAfterMs: 250}),
        null,
        'renewed 0 ms ago: not stale',
      );
      await delay(350);
      const thief = await Lock.acquire(id, {
        kind,
        wait: false,
        stealAfterMs: 250,
      });
      assert.ok(thief, 'stale 350 ms after its renewal');
      assert.equal(await held.renew(), false);
      assert.equal(held.signal.aborted, true);
      await thief.release();
    });

    it('run() passes the held lock, renews it while fn runs past its lease, and releases it after', async () => {
      const id = uniqueId('run-renews');
      const result = await lock(id, {kind, leaseMs: 600}).run(async held => {
        assert.equal(held.identifier, id);
        assert.equal(held.leaseMs, 600);
        await delay(2_000);
        assert.equal(
          await Lock.acquire(id, {kind, wait: false}),
          null,
          'still held after three leases',
        );
        assert.equal(held.signal.aborted, false);
        return 'done';
      });
      assert.equal(result, 'done');
      assert.equal(await peek(id, {kind}), null);
    });

    for (const leaseMs of [undefined, 5_000]) {
      it(`run() and wrap() reject LOCK_LOST when the lock is removed from outside mid-run (${leaseMs ? 'leased' : 'lease-less'})`, async () => {
        const id = uniqueId('removed');
        await assert.rejects(
          lock(id, {kind, ...(leaseMs ? {leaseMs} : {})}).run(async () => {
            await forceRelease(id, {kind});
            return 'finished as if nothing happened';
          }),
          isLost,
        );
        const wrapped = lock(id, {kind, ...(leaseMs ? {leaseMs} : {})}).wrap(
          async (a: number, b: number) => {
            await forceRelease(id, {kind});
            return a + b;
          },
        );
        await assert.rejects(wrapped(1, 2), isLost);
      });
    }

    it("run() rethrows fn's own error, not LOCK_LOST", async () => {
      const id = uniqueId('fn-throws');
      await assert.rejects(
        lock(id, {kind, leaseMs: 5_000}).run(async () => {
          await forceRelease(id, {kind});
          throw new Error('fn failed');
        }),
        /fn failed/,
      );
    });

    it('autoRenew: a lease whose renewals find the lock gone aborts the signal within about one renewal interval', async () => {
      const id = uniqueId('auto-lost');
      const leaseMs = 600;
      const held = await Lock.acquire(id, {kind, leaseMs, autoRenew: true});
      assert.ok(held);
      await forceRelease(id, {kind});
      const removedAt = Date.now();
      await whenAborted(held.signal);
      const ms = Date.now() - removedAt;
      assert.ok(ms < leaseMs / 3 + 1_000, `aborted ${ms} ms after the removal`);
      assert.ok(isLost(held.signal.reason));
      assert.equal(await held.release(), false);
    });

    it('refuses a lease under 100 ms, and autoRenew without a lease', async () => {
      for (const options of [
        {leaseMs: 99},
        {leaseMs: -1},
        {leaseMs: Number.NaN},
        {leaseMs: '500'},
        {autoRenew: true},
        {leaseMs: 500, autoRenew: 'yes'},
      ]) {
        await assert.rejects(
          Lock.acquire(uniqueId('bad-lease'), {kind, ...(options as object)}),
          (error: unknown) =>
            error instanceof LockError && error.code === 'INVALID_ARGUMENT',
          JSON.stringify(options),
        );
      }
    });
  });
}
