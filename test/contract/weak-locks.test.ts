import {strict as assert} from 'node:assert';
import type {Client} from 'memjs';
import sinon from 'sinon';
import {startMemcached} from '../../infra/memcached';
import {
  configureLocking,
  Lock,
  LockError,
  LockKind,
  peek,
  releaseByToken,
} from '../../shared';
import {holderIdOf} from '../../shared/core/holder-id';
import {
  MemcacheOps,
  MemcacheTransportError,
} from '../../shared/stores/memcached/memcache-ops';
import {lockCacheKey} from '../../shared/stores/memcached/lock-value';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {delay, uniqueId} from '../support/ids';
import {memcacheClient} from '../support/memcache-target';

const WEAK = {kind: LockKind.WEAK} as const;
const fastRetry = {initialMs: 5, maxMs: 20, maxAttempts: 3};

/** What WEAK locks promise beyond the shared contract, on a real memcached. */
describe('WEAK locks on memcached', () => {
  const sandbox = sinon.createSandbox();
  let memcache: Client;

  beforeEach(() => {
    memcache = memcacheClient();
    configureLocking({memcache, retry: fastRetry});
  });
  afterEach(() => {
    sandbox.restore();
    memcache.close();
  });
  after(() => configureLocking());

  const exists = async (identifier: string) =>
    (await memcache.get(lockCacheKey('lock:', identifier))).value !== null;

  describe("djangae's WEAK tests", () => {
    it('a held lock blocks a wait: false acquire', async () => {
      const id = uniqueId('weak-held');
      const held = await Lock.acquire(id, WEAK);
      assert.ok(held);
      assert.equal(await Lock.acquire(id, {...WEAK, wait: false}), null);
      await held.release();
    });

    it('after 100 ms, wait: false with stealAfterMs: 10 takes the lock over; done at once, the same call gets null', async () => {
      const id = uniqueId('weak-steal');
      const held = await Lock.acquire(id, WEAK);
      assert.ok(held);
      assert.equal(
        await Lock.acquire(id, {...WEAK, wait: false, stealAfterMs: 10_000}),
        null,
        'not stale yet',
      );
      await delay(100);
      const thief = await Lock.acquire(id, {
        ...WEAK,
        wait: false,
        stealAfterMs: 10,
      });
      assert.ok(thief, 'stolen after 100 ms');
      assert.equal(
        await Lock.acquire(id, {...WEAK, wait: false, stealAfterMs: 10}),
        null,
        "the thief's fresh lock is not stale",
      );
      assert.equal(await held.release(), false);
      assert.equal(await thief.release(), true);
    });

    it('a waiter without stealAfterMs neither errors nor steals', async () => {
      const id = uniqueId('weak-waiter');
      const held = await Lock.acquire(id, WEAK);
      assert.ok(held);
      await delay(50);
      assert.equal(await Lock.acquire(id, {...WEAK, waitForMs: 300}), null);
      assert.equal((await peek(id, WEAK))?.holderId, held.holderId);
      await held.release();
    });
  });

  describe('sub-second steal times', () => {
    it('stealAfterMs: 250 is honoured both ways: not stolen at 100 ms, stolen at 400 ms', async () => {
      const id = uniqueId('weak-250');
      const held = await Lock.acquire(id, {...WEAK, stealAfterMs: 250});
      assert.ok(held);
      await delay(100);
      assert.equal(
        await Lock.acquire(id, {...WEAK, wait: false, stealAfterMs: 250}),
        null,
        'not stolen at 100 ms',
      );
      await delay(300);
      assert.equal(
        (await peek(id, WEAK))?.holderId,
        held.holderId,
        'the key has not expired by itself at 400 ms',
      );
      const thief = await Lock.acquire(id, {
        ...WEAK,
        wait: false,
        stealAfterMs: 250,
      });
      assert.ok(thief, 'stolen at 400 ms');
      await thief.release();
    });

    it('stores an expiry that is neither "never" nor "at once"', async function () {
      this.timeout(10_000);
      const id = uniqueId('weak-expiry');
      const held = await Lock.acquire(id, {...WEAK, stealAfterMs: 250});
      assert.ok(held);
      // memcached's clock ticks once a second, so an expiry of 2 s lasts between 1 and 2 s.
      assert.ok(await exists(id), 'stored');
      await delay(900);
      assert.ok(
        await exists(id),
        'still stored well past stealAfterMs: the expiry was not rounded to "at once"',
      );
      await delay(1400);
      assert.equal(
        await exists(id),
        false,
        'expired by stealAfterMs rounded up plus one second: not "never"',
      );
    });
  });

  describe('compare-and-swap', () => {
    it('three thieves racing for one stale lock: exactly one wins', async () => {
      for (let round = 0; round < 3; round++) {
        const id = uniqueId('weak-race');
        const victim = await Lock.acquire(id, WEAK);
        assert.ok(victim);
        await delay(120);
        const thieves = await Promise.all(
          [1, 2, 3].map(() =>
            Lock.acquire(id, {...WEAK, wait: false, stealAfterMs: 100}),
          ),
        );
        const winners = thieves.filter(thief => thief !== null);
        assert.equal(
          winners.length,
          1,
          `round ${round}: ${winners.length} thieves won`,
        );
        assert.equal((await peek(id, WEAK))?.holderId, winners[0]?.holderId);
        await winners[0]?.release();
      }
    });

    it("a release never deletes a value written since the holder's grant", async () => {
      const id = uniqueId('weak-cas-grant');
      const held = await Lock.acquire(id, WEAK);
      assert.ok(held);
      const key = lockCacheKey('lock:', id);
      await memcache.set(
        key,
        JSON.stringify({
          identifier: id,
          token: 'intruder',
          acquiredAt: Date.now(),
        }),
        {},
      );
      assert.equal(await held.release(), false);
      assert.equal(
        (await peek(id, WEAK))?.holderId,
        holderIdOf('intruder'),
        'the new value was not deleted',
      );
      await memcache.delete(key);
    });

    it('a release by token never deletes a lock that changed hands between its read and its delete', async () => {
      const id = uniqueId('weak-cas-release');
      const held = await Lock.acquire(id, WEAK);
      assert.ok(held);
      const key = lockCacheKey('lock:', id);
      const gets = sandbox
        .stub(MemcacheOps.prototype, 'gets')
        .callsFake(async function (this: MemcacheOps, ...args) {
          const seen = await gets.wrappedMethod.apply(this, args);
          // Someone else's value lands right after our read.
          await memcache.set(
            key,
            JSON.stringify({
              identifier: id,
              token: 'intruder',
              acquiredAt: Date.now(),
            }),
            {},
          );
          return seen;
        });
      assert.equal(await releaseByToken(id, held.token, WEAK), false);
      sandbox.restore();
      assert.equal(
        (await peek(id, WEAK))?.holderId,
        holderIdOf('intruder'),
        'the new value was not deleted',
      );
      await memcache.delete(key);
    });
  });

  describe('round trips', () => {
    it('acquire is one add; release is a get and a CAS delete; a held lock costs one more get, to judge it; a renewal is a get and a CAS set', async () => {
      const perform = sandbox.spy(memcache, 'perform');
      const id = uniqueId('weak-rpc');
      const held = await Lock.acquire(id, WEAK);
      assert.equal(perform.callCount, 1);
      // The get tells whether the holder's lease has expired, which frees the lock for anyone.
      assert.equal(await Lock.acquire(id, {...WEAK, wait: false}), null);
      assert.equal(perform.callCount, 3);
      assert.equal(
        await Lock.acquire(id, {...WEAK, wait: false, stealAfterMs: 60_000}),
        null,
      );
      assert.equal(perform.callCount, 5);
      assert.equal(await held?.renew(), true);
      assert.equal(
        perform.callCount,
        7,
        'a renewal: a get proves the value is ours, then the CAS set',
      );
      assert.equal(await held?.release(), true);
      // Not one CAS delete with the grant's CAS: after a restart that CAS can be the next holder's.
      assert.equal(
        perform.callCount,
        9,
        'a get proves the value is ours, then the CAS delete',
      );
      const again = await Lock.acquire(id, WEAK);
      assert.equal(
        await releaseByToken(id, again?.token as string, WEAK),
        true,
      );
      assert.equal(
        perform.callCount,
        12,
        'by token alone: the same get, then the CAS delete',
      );
    });
  });

  describe('faults', () => {
    it('an ambiguous add (stored, but the answer lost) leaves the caller holding its own lock', async () => {
      const add = sandbox.stub(MemcacheOps.prototype, 'add');
      add.onFirstCall().callsFake(async function (this: MemcacheOps, ...args) {
        await add.wrappedMethod.apply(this, args);
        throw new MemcacheTransportError(
          'add',
          new Error('socket timed out waiting on response.'),
        );
      });
      add.callThrough();
      const id = uniqueId('weak-ambiguous');
      const held = await Lock.acquire(id, {...WEAK, wait: false});
      assert.ok(held, 'the retry recognised its own lock');
      sandbox.restore();
      assert.equal((await peek(id, WEAK))?.holderId, held.holderId);
      assert.equal(await held.release(), true);
    });

    it('memcached stopped mid-run: WEAK calls fail fast with BACKEND_UNAVAILABLE, STRONG is unaffected', async function () {
      this.timeout(20_000);
      const server = await startMemcached();
      const ownClient = memcacheClient(server.host);
      try {
        configureLocking({
          memcache: ownClient,
          datastore: DATASTORE_TARGETS[0]?.client(),
          retry: fastRetry,
        });
        const id = uniqueId('weak-outage');
        const held = await Lock.acquire(id, WEAK);
        assert.ok(held);
        await server.stop();
        const unavailable = (error: unknown) =>
          error instanceof LockError &&
          error.code === 'BACKEND_UNAVAILABLE' &&
          error.kind === LockKind.WEAK;
        await assert.rejects(
          Lock.acquire(uniqueId('weak-outage-2'), WEAK),
          unavailable,
        );
        await assert.rejects(
          Lock.acquire(id, {...WEAK, wait: false}),
          unavailable,
        );
        await assert.rejects(held.release(), unavailable);
        await assert.rejects(peek(id, WEAK), unavailable);
        const strong = await Lock.acquire(
          uniqueId('strong-during-weak-outage'),
        );
        assert.ok(strong, 'STRONG locks do not depend on memcached');
        assert.equal(await strong.release(), true);
      } finally {
        ownClient.close();
        await server.stop();
      }
    });
  });
});
