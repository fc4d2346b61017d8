import type {LockBackend} from '../core/backend';
import {LockKind} from '../core/kinds';
import type {ResolvedLockingConfig} from './resolved-config';

/**
 * The backend of a kind the configuration gave none for, built from its clients or the
 * environment. The one place that names the adapters; each loads on first use, so a cold start that
 * never takes a STRONG lock never loads the Datastore client.
 */
export async function defaultBackend(
  kind: LockKind,
  config: ResolvedLockingConfig,
): Promise<LockBackend> {
  const common = {
    databaseId: config.databaseId,
    namespace: config.namespace,
    entityKind: config.entityKind,
    rpcTimeoutMs: config.rpcTimeoutMs,
  };
  switch (kind) {
    case LockKind.STRONG:
      if (config.strongStore === 'firestore') {
        const {createFirestoreBackend} =
          await import('../stores/firestore/create-firestore-backend');
        return createFirestoreBackend(config.firestore, common);
      } else {
        const {createDatastoreBackend} =
          await import('../stores/datastore/create-datastore-backend');
        return createDatastoreBackend(config.datastore, common);
      }
    case LockKind.WEAK: {
      if (config.weakStore === 'valkey') {
        const {createValkeyBackend} =
          await import('../stores/valkey/create-valkey-backend');
        const given = config.valkey;
        return createValkeyBackend(
          typeof given === 'string' ? undefined : given,
          {
            ...(typeof given === 'string' ? {url: given} : {}),
            rpcTimeoutMs: config.rpcTimeoutMs,
            logger: config.logger,
          },
        );
      }
      const {createMemcachedBackend} =
        await import('../stores/memcached/create-memcached-backend');
      return createMemcachedBackend(config.memcache, {
        keyPrefix: config.memcacheKeyPrefix,
        rpcTimeoutMs: config.rpcTimeoutMs,
      });
    }
  }
}
