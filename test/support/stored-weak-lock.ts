import type {Client} from 'memjs';
import {MemcacheOps} from '../../shared/stores/memcached/memcache-ops';
import {
  DEFAULT_MEMCACHE_KEY_PREFIX,
  decodeLockValue,
  encodeLockValue,
  lockCacheKey,
} from '../../shared/stores/memcached/lock-value';

/**
 * What memcached itself holds for a WEAK lock, read and written beside the library (not through
 * it), so a test can check the store rather than the library's view of it.
 */
export interface StoredWeakLock {
  readonly token: string | undefined;
  /** memcached's CAS for the stored value, as hex. */
  readonly cas: string;
}

export async function storedWeakLock(
  client: Client,
  identifier: string,
): Promise<StoredWeakLock | null> {
  const found = await new MemcacheOps(client, 2000).gets(
    lockCacheKey(DEFAULT_MEMCACHE_KEY_PREFIX, identifier),
  );
  return found
    ? {
        token: decodeLockValue(found.value)?.token,
        cas: found.cas.toString('hex'),
      }
    : null;
}

/** Plants a lock as another process would have written it, `ageMs` old. */
export async function plantWeakLock(
  client: Client,
  identifier: string,
  token: string,
  ageMs: number,
): Promise<void> {
  const value = encodeLockValue({
    identifier,
    token,
    acquiredAt: new Date(Date.now() - ageMs),
  });
  await client.set(
    lockCacheKey(DEFAULT_MEMCACHE_KEY_PREFIX, identifier),
    value,
    {expires: 0},
  );
}
