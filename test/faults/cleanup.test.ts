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
import {DatastoreRpc} from '../../shared/stores/datastore/datastore-rpc';
import {probeVersionPreconditions} from '../../shared/stores/datastore/precondition-probe';
import {delay, uniqueId} from '../support/ids';
import {STRONG_TARGETS} from '../support/strong-targets';
import {warmUp} from '../support/warm-up';

/** cleanupStaleLocks on every STRONG store, each test in a namespace of its own. */
for (const target of STRONG_TARGETS) {
  describe(`cleanup of abandoned STRONG locks: ${target.name}`, function () {
    this.timeout(60_000);
    let namespace = '';
    beforeEach(async () => {
      namespace = uniqueId('cleanup').replace(/:/g, '-');
      configureLocking({...target.config(), namespace});
      // On Datastore, waits for the precondition probe, whose entity is written as a lock (cleanup would count it).
      await warmUp(LockKind.STRONG);
    });
    afterEach(() => sinon.restore());
    after(() => configureLocking());

    it(`pages past 500 keys${target.store === 'datastore' ? ' and through small transactions' : ''}: 520 abandoned locks deleted, a fresh one kept`, async () => {
      const abandoned: string[] = [];
      for (let batch = 0; batch < 13; batch++) {
        const locks = await Promise.all(
          Array.from({length: 40}, () =>
            Lock.acquire(uniqueId('abandoned'), {wait: false}),
          ),
        );
        abandoned.push(...locks.map(held => held?.identifier as string));
      }
      await delay(200);
      const fresh = await Lock.acquire(uniqueId('fresh'));
      assert.deepEqual(await cleanupStaleLocks({maxAgeMs: 150}), {
        deleted: 520,
        dispatched: 0,
      });
      for (const identifier of [abandoned[0], abandoned[260], abandoned[519]])
        assert.equal(await peek(identifier as string), null);
      assert.equal(
        (await peek(fresh?.identifier as string))?.holderId,
        fresh?.holderId,
      );
      assert.deepEqual(
        await cleanupStaleLocks({maxAgeMs: 60_000}),
        {deleted: 0, dispatched: 0},
        'a second run finds nothing left',
      );
    });

    // The precondition probe exists only on Datastore: Firestore native honours update-time preconditions, unprobed.
    if (target.store === 'datastore')
      it('a precondition probe whose last delete failed is removed by cleanup like an abandoned lock', async () => {
        const backend = (await currentRuntime().backend(
          LockKind.STRONG,
        )) as DatastoreLockBackend;
        const commit = sinon.stub(DatastoreRpc.prototype, 'commit');
        commit.callsFake(async function (
          this: DatastoreRpc,
          transaction,
          mutations,
        ) {
          // The store becomes unreachable after the probe's two writes: neither delete gets through.
          if (mutations.some(mutation => mutation.delete))
            throw Object.assign(new Error('14 UNAVAILABLE: injected'), {
              code: 14,
            });
          return commit.wrappedMethod.call(this, transaction, mutations);
        });
        await probeVersionPreconditions(
          backend.rpc,
          await backend.rpc.partition(namespace),
          'DatastoreLock',
        ).catch(() => undefined);
        commit.restore();
        const keysLeft = async () => {
          const datastore = backend.rpc.datastore;
          const [entities] = await datastore.runQuery(
            datastore.createQuery(namespace, 'DatastoreLock').select('__key__'),
          );
          return entities.length;
        };
        assert.equal(await keysLeft(), 1, 'the probe entity was left behind');
        await delay(20);
        assert.deepEqual(await cleanupStaleLocks({maxAgeMs: 10}), {
          deleted: 1,
          dispatched: 0,
        });
        assert.equal(
          await keysLeft(),
          0,
          'nothing the library wrote escapes cleanup',
        );
      });

    it('never deletes a lock re-acquired between the query and the delete', async () => {
      const identifier = uniqueId('reacquired');
      const old = await Lock.acquire(identifier);
      // The old lock is past maxAgeMs, the re-acquired one far from it: a slow machine between the
      // re-acquire and the delete's read must not age the new lock past the rule and make the
      // delete rightful.
      await delay(1_200);
      let reacquired: Lock | null = null;
      target.afterCleanupQuery(sinon, async found => {
        if (!reacquired && found > 0) {
          await old?.release();
          reacquired = await Lock.acquire(identifier);
        }
      });
      assert.deepEqual(await cleanupStaleLocks({maxAgeMs: 1_000}), {
        deleted: 0,
        dispatched: 0,
      });
      assert.ok(reacquired, 'the query found the old lock');
      assert.equal(
        (await peek(identifier))?.holderId,
        (reacquired as Lock | null)?.holderId,
        'the new holder keeps its lock',
      );
    });

    it('concurrent cleanups never fail on each other: contended locks are left for the next run', async () => {
      const abandoned = await Promise.all(
        Array.from({length: 40}, () =>
          Lock.acquire(uniqueId('contended'), {wait: false}),
        ),
      );
      await delay(100);
      const runs = await Promise.all(
        [1, 2, 3].map(() => cleanupStaleLocks({maxAgeMs: 50})),
      );
      const deletedConcurrently = runs.reduce(
        (sum, run) => sum + run.deleted,
        0,
      );
      assert.ok(
        deletedConcurrently <= 40,
        `no lock is counted twice (${deletedConcurrently})`,
      );
      const {deleted: deletedAfter} = await cleanupStaleLocks({maxAgeMs: 50});
      assert.equal(
        deletedConcurrently + deletedAfter,
        40,
        'a later run deletes what the contended ones left',
      );
      for (const held of abandoned.slice(0, 3))
        assert.equal(await peek(held?.identifier as string), null);
    });

    it('deletes a stealable lock past its steal time even when it is younger than maxAgeMs', async () => {
      const stealable = await Lock.acquire(uniqueId('stealable'), {
        stealAfterMs: 20,
      });
      const patient = await Lock.acquire(uniqueId('patient'));
      await delay(60);
      assert.deepEqual(await cleanupStaleLocks({maxAgeMs: 60_000}), {
        deleted: 1,
        dispatched: 0,
      });
      assert.equal(await peek(stealable?.identifier as string), null);
      assert.equal(
        (await peek(patient?.identifier as string))?.holderId,
        patient?.holderId,
      );
    });
  });
}
