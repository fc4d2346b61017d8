import type { AcquireOutcome, AcquireRequest, LockBackend, LockRecord, ReleaseOutcome } from '../backend';
import { LockKind } from '../kinds';
import type { CasValue, MemcacheOps } from './memcache-ops';
import { classifyMemcacheError } from './memcached-errors';
import { decodeLockValue, encodeLockValue, expirySeconds, lockCacheKey } from './lock-value';

/**
 * WEAK locks on memcached: best effort. memcached may evict or lose a lock (restart, memory
 * pressure), and then a second holder gets in; there is no fence.
 *
 * Round trips: an uncontended acquire is one `add`. A held lock costs one more `get` only when the
 * caller may steal, and a steal is one compare-and-swap `set`, so of several thieves one wins. A
 * release is a `get` and a compare-and-swap `delete`, so it never removes a lock that changed
 * hands in between.
 */
export class MemcachedLockBackend implements LockBackend {
  readonly kind = LockKind.WEAK;
  readonly capabilities = { fence: false } as const;

  constructor(
    readonly ops: MemcacheOps,
    private readonly keyPrefix: string,
  ) {}

  async tryAcquire(request: AcquireRequest): Promise<AcquireOutcome> {
    const key = lockCacheKey(this.keyPrefix, request.identifier);
    const record = newRecord(request);
    const expiry = expirySeconds(request.stealAfterMs);
    const added = await this.call(true, () => this.ops.add(key, encodeLockValue(record), expiry));
    if (added) return { acquired: true, record };
    if (request.stealAfterMs === undefined) return { acquired: false };

    const current = await this.read(key);
    const holder = current?.record ?? null;
    // This host's clock against the holder's: memcached keeps no write time of its own.
    if (!current || holder?.token === request.token || (holder && Date.now() - holder.acquiredAt.getTime() <= request.stealAfterMs)) {
      return { acquired: false, holder };
    }
    const thief = newRecord(request);
    const swapped = await this.call(true, () => this.ops.casSet(key, encodeLockValue(thief), expiry, current.cas));
    return swapped === 'stored' ? { acquired: true, record: thief } : { acquired: false };
  }

  async release(identifier: string, token: string): Promise<ReleaseOutcome> {
    const key = lockCacheKey(this.keyPrefix, identifier);
    const current = await this.read(key);
    if (!current) return 'absent';
    if (current.record?.token !== token) return 'not_holder';
    const deleted = await this.call(true, () => this.ops.casDelete(key, current.cas));
    // Changed in between: someone stole it, and their lock stays. Missing: it expired meanwhile.
    return deleted === 'deleted' ? 'released' : deleted === 'changed' ? 'not_holder' : 'absent';
  }

  async peek(identifier: string): Promise<LockRecord | null> {
    return (await this.read(lockCacheKey(this.keyPrefix, identifier)))?.record ?? null;
  }

  /** The stored lock and its CAS; `record` is null when the key holds something that is not a lock. */
  private async read(key: string): Promise<(CasValue & { record: LockRecord | null }) | null> {
    const found = await this.call(false, () => this.ops.gets(key));
    return found ? { ...found, record: decodeLockValue(found.value) } : null;
  }

  private async call<T>(write: boolean, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw classifyMemcacheError(error, { write });
    }
  }
}

function newRecord(request: AcquireRequest): LockRecord {
  const acquiredAt = new Date();
  return {
    identifier: request.identifier,
    token: request.token,
    acquiredAt,
    ...(request.stealAfterMs === undefined ? {} : { expiresAt: new Date(acquiredAt.getTime() + request.stealAfterMs) }),
  };
}
