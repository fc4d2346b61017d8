import {strict as assert} from 'node:assert';
import sinon from 'sinon';
import {
  cleanupStaleLocks,
  configureLocking,
  Lock,
  LockKind,
  peek,
} from '../../shared';
import {currentRuntime} from '../../shared/configuration/config';
import type {DatastoreLockBackend} from '../../shared/stores/datastore/datastore-backend';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {delay, uniqueId} from '../support/ids';

/**
 * Cleanup and leases on both Datastore emulators, and clock skew where the store reports its own
 * clock (Firestore in Datastore mode: update and read times). Skew is injected into this process's
 * Date for the holder's or the cleaner's part only; the machine's clock is never changed.
 */
const MINUTE = 60_000;

/** Runs `fn` with this process's Date `offsetMs` off (timers untouched). */
async function withClockOff<T>(
  offsetMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  const clock = sinon.useFakeTimers({
    now: Date.now() + offsetMs,
    toFake: ['Date'],
    shouldAdvanceTime: true,
  });
  try {
    return await fn();
  } finally {
    clock.restore();
  }
}

for (const target of DATASTORE_TARGETS) {
  describe(`cleanup and leases: ${target.name}`, function () {
    this.timeout(30_000);
    beforeEach(async () => {
      configureLocking({
        datastore: target.client(),
        namespace: uniqueId('lease-clean').replace(/:/g, '-'),
      });
      await (await Lock.acquire(uniqueId('warm-up')))?.release();
      // The precondition probe (an entity written as a lock, see precondition-probe.ts) must be done
      // before a test counts what cleanup deletes.
      await (
        (await currentRuntime().backend(
          LockKind.STRONG,
        )) as DatastoreLockBackend
      ).preconditions.honoured();
    });
    afterEach(() => sinon.restore());
    after(() => configureLocking());

    it('never deletes a live lease, whatever maxAgeMs; deletes it once expired', async () => {
      const held = await Lock.acquire(uniqueId('live'), {leaseMs: 1_500});
      assert.ok(held);
      await delay(100);
      assert.deepEqual(await cleanupStaleLocks({maxAgeMs: 0}), {
        deleted: 0,
        dispatched: 0,
      });
      assert.equal((await peek(held.identifier))?.holderId, held.holderId);
      await delay(1_700);
      assert.deepEqual(
        await cleanupStaleLocks({maxAgeMs: 60 * MINUTE}),
        {deleted: 1, dispatched: 0},
        'an expired lease goes, however young maxAgeMs would call it',
      );
      assert.equal(await held.renew(), false);
    });

    it('a lease-less lock counts its age from its last renewal', async () => {
      const held = await Lock.acquire(uniqueId('renewed'));
      assert.ok(held);
      await delay(400);
      assert.equal(await held.renew(), true);
      assert.deepEqual(
        await cleanupStaleLocks({maxAgeMs: 300}),
        {deleted: 0, dispatched: 0},
        'renewed just now',
      );
      await delay(400);
      assert.deepEqual(await cleanupStaleLocks({maxAgeMs: 300}), {
        deleted: 1,
        dispatched: 0,
      });
    });

    if (target.name.includes('Firestore')) {
      describe('clock skew, judged on the store clock', () => {
        it('a cleaner whose clock is 5 minutes ahead deletes neither a live lease nor a young lease-less lock', async () => {
          const leased = await Lock.acquire(uniqueId('leased'), {
            leaseMs: MINUTE,
          });
          const plain = await Lock.acquire(uniqueId('plain'));
          assert.ok(leased && plain);
          const result = await withClockOff(5 * MINUTE, () =>
            cleanupStaleLocks({maxAgeMs: MINUTE}),
          );
          assert.deepEqual(result, {deleted: 0, dispatched: 0});
          assert.equal(
            (await peek(leased.identifier))?.holderId,
            leased.holderId,
          );
          assert.equal(
            (await peek(plain.identifier))?.holderId,
            plain.holderId,
          );
        });

        it('a holder whose clock is 2 minutes behind is not taken early: not stolen, not expired, not cleaned up', async () => {
          const leased = await withClockOff(-2 * MINUTE, () =>
            Lock.acquire(uniqueId('slow-leased'), {leaseMs: MINUTE}),
          );
          const plain = await withClockOff(-2 * MINUTE, () =>
            Lock.acquire(uniqueId('slow-plain')),
          );
          assert.ok(leased && plain);
          assert.equal(
            await Lock.acquire(leased.identifier, {wait: false}),
            null,
            'its lease is live on the store clock',
          );
          assert.equal(
            await Lock.acquire(leased.identifier, {
              wait: false,
              stealAfterMs: 50,
            }),
            null,
          );
          assert.equal(
            await Lock.acquire(plain.identifier, {
              wait: false,
              stealAfterMs: MINUTE,
            }),
            null,
            'held 0 s by the store clock',
          );
          assert.deepEqual(await cleanupStaleLocks({maxAgeMs: MINUTE}), {
            deleted: 0,
            dispatched: 0,
          });
          assert.equal(await leased.release(), true);
          assert.equal(await plain.release(), true);
        });
      });
    }
  });
}
