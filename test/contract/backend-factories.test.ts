import {strict as assert} from 'node:assert';
import {
  configureLocking,
  createLocking,
  Lock,
  LockKind,
  peek,
  type LockBackend,
} from '../../shared';
import {createDatastoreBackend} from '../../shared/stores/datastore';
import {createFirestoreBackend} from '../../shared/stores/firestore';
import {createMemcachedBackend} from '../../shared/stores/memcached';
import {uniqueId} from '../support/ids';
import {memcacheClient} from '../support/memcache-target';
import {STRONG_TARGETS} from '../support/strong-targets';

/**
 * The exported backend factories on the real stores, through createLocking: a lock lives where the
 * factory's options say (a namespace, a key prefix), apart from the module-level API's locks on
 * the same client.
 */
describe('backend factories through createLocking', () => {
  after(() => configureLocking());

  for (const target of STRONG_TARGETS) {
    it(`${target.store === 'firestore' ? 'createFirestoreBackend' : 'createDatastoreBackend'} on the ${target.name}: locks in the namespace it is given`, async () => {
      const config = target.config();
      configureLocking(config);
      const options = {namespace: uniqueId('factory').replace(':', '-')};
      const strong: Promise<LockBackend> =
        config.firestore !== undefined
          ? createFirestoreBackend(config.firestore, options)
          : createDatastoreBackend(config.datastore, options);
      const locking = createLocking({strong});
      const id = uniqueId('factory-lock');
      const held = await locking.Lock.acquire(id);
      assert.ok(held);
      assert.equal(typeof held.fence, 'bigint');
      assert.equal((await locking.peek(id))?.holderId, held.holderId);
      assert.equal(
        await peek(id),
        null,
        'the default namespace does not see it',
      );
      const other = await Lock.acquire(id, {wait: false});
      assert.ok(other, 'the same identifier is free in the default namespace');
      await other.release();
      assert.equal(await held.release(), true);
      assert.equal(await locking.peek(id), null);
    });
  }

  it('createMemcachedBackend: WEAK locks under its own key prefix', async () => {
    const client = memcacheClient();
    configureLocking({memcache: client});
    const locking = createLocking({
      weak: createMemcachedBackend(client, {keyPrefix: 'factory:'}),
    });
    const kind = LockKind.WEAK;
    const id = uniqueId('factory-weak');
    const held = await locking.acquire(id, {kind});
    assert.ok(held);
    assert.equal(held.fence, undefined);
    assert.equal((await locking.peek(id, {kind}))?.holderId, held.holderId);
    assert.equal(
      await peek(id, {kind}),
      null,
      'the default prefix does not see it',
    );
    assert.equal(await held.release(), true);
  });
});
