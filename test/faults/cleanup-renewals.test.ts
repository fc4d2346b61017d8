import {strict as assert} from 'node:assert';
import sinon from 'sinon';
import {
  cleanupStaleLocks,
  configureLocking,
  Lock,
  LockKind,
} from '../../shared';
import {DatastoreRpc} from '../../shared/stores/datastore/datastore-rpc';
import {decodeLock} from '../../shared/stores/datastore/lock-entity';
import {delay, uniqueId} from '../support/ids';
import {STRONG_TARGETS} from '../support/strong-targets';
import {warmUp} from '../support/warm-up';

/**
 * Cleanup must never stall a renewal. A leased lock older than maxAgeMs is a candidate of
 * cleanup's query, so cleanup reads live locks; it used to read them in a transaction, which
 * contends with their holders' renewals (the legacy emulator aborts one of two transactions on a
 * key; Firestore in Datastore mode makes the other writer wait). Back-to-back cleanups then made
 * 17 of 20 holders of 300 ms leases lose their lock. Here the renewal is made at the worst moment,
 * while cleanup holds what it read of the live lock, so the test does not depend on timing.
 */
for (const target of STRONG_TARGETS.filter(t => t.store === 'datastore')) {
  describe(`cleanup beside renewals: ${target.name}`, function () {
    this.timeout(60_000);
    beforeEach(async () => {
      const namespace = uniqueId('renewals').replace(/:/g, '-');
      configureLocking({...target.config(), namespace});
      await warmUp(LockKind.STRONG);
    });
    afterEach(() => sinon.restore());
    after(() => configureLocking());

    it('a renewal made while cleanup is judging the live lock goes through, and the lock stays', async () => {
      const held = await Lock.acquire(uniqueId('renewing'), {leaseMs: 60_000});
      assert.ok(held);
      await delay(20);
      let renewal: Promise<boolean> | undefined;
      const lookupAll = sinon
        .stub(DatastoreRpc.prototype, 'lookupAll')
        .callsFake(async function (this: DatastoreRpc, ...args) {
          const found = await lookupAll.wrappedMethod.apply(this, args);
          if (
            !renewal &&
            found.some(entity => decodeLock(entity).token === held.token)
          ) {
            renewal = held.renew();
            await renewal.catch(() => undefined);
          }
          return found;
        });
      assert.deepEqual(await cleanupStaleLocks({maxAgeMs: 1}), {
        deleted: 0,
        dispatched: 0,
      });
      assert.ok(renewal, 'cleanup read the live lock');
      assert.equal(await renewal, true, 'the renewal went through');
      assert.equal(held.signal.aborted, false);
      sinon.restore();
      assert.equal(await held.release(), true, 'the lock is still its holder');
    });
  });
}
