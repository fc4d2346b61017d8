import type {LockBackend} from '../../core/backend';
import type {MemcacheClient} from './memcache-client';
import {resolveLockingConfig} from '../../configuration/resolve-config';

export interface MemcachedBackendOptions {
  /** Prefix of the locks' memcached keys. Default: `lock:`. */
  keyPrefix?: string | undefined;
  /** Deadline of each store call. Default: 5,000 ms. */
  rpcTimeoutMs?: number | undefined;
}

/**
 * WEAK locks on memcached, for `createLocking({weak})`, through a memjs `Client`. Without one,
 * builds `memjs.Client.create()` (which reads MEMCACHE_SERVERS, default localhost:11211); it
 * connects on its first call.
 */
export async function createMemcachedBackend(
  client?: MemcacheClient,
  options: MemcachedBackendOptions = {},
): Promise<LockBackend> {
  const config = resolveLockingConfig({
    memcache: client,
    memcacheKeyPrefix: options.keyPrefix,
    rpcTimeoutMs: options.rpcTimeoutMs,
  });
  const [{MemcacheOps}, {MemcachedLockBackend}] = await Promise.all([
    import('./memcache-ops'),
    import('./memcached-backend'),
  ]);
  const memcache =
    client ??
    (await import('memjs')).Client.create(undefined, {
      logger: {log: () => undefined},
    });
  return new MemcachedLockBackend(
    new MemcacheOps(memcache, config.rpcTimeoutMs),
    config.memcacheKeyPrefix,
  );
}
