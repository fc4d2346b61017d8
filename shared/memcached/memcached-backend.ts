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
 * release is one compare-and-swap `delete` with the CAS the grant got, so it never removes a lock
 * written since; a release by token alone reads the CAS first (`get`, then the delete).
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
    const cas = await this.call(true, () => this.ops.add(key, encodeLockValue(record), expiry));
    if (cas) return { acquired: true, record: { ...record, revision: cas.toString('hex') } };
    if (request.stealAfterMs === undefined) return { acquired: false };

    const current = await this.read(key);
    const holder = current?.record ?? null;
    // This host's clock against the holder's: memcached keeps no write time of its own.
    if (!current || holder?.token === request.token || (holder && Date.now() - holder.acquiredAt.getTime() <= request.stealAfterMs)) {
      return { acquired: false, holder };
    }
    const thief = newRecord(request);
    const swapped = await this.call(true, () => this.ops.casSet(key, encodeLockValue(thief), expiry, current.cas));
    return Buffer.isBuffer(swapped) ? { acquired: true, record: { ...thief, revision: swapped.toString('hex') } } : { acquired: false };
  }

  async release(identifier: string, token: string, revision?: string): Promise<ReleaseOutcome> {
    const key = lockCacheKey(this.keyPrefix, identifier);
    if (revision !== undefined) {
      // The CAS our grant got: the delete applies only while nobody has written the key since.
      const deleted = await this.call(true, () => this.ops.casDelete(key, Buffer.from(revision, 'hex')));
      if (deleted === 'deleted') return 'released';
      if (deleted === 'missing') return 'absent';
      // Changed since our grant: read who has it now.
    }
    const current = await this.read(key);
    if (!current) return 'absent';
    if (current.record?.token !== token) return 'not_holder';
    const deleted = await this.call(true, () => this.ops.casDelete(key, current.cas));
    // Changed in between: someone stole it, and their lock stays. Missing: it expired meanwhile.
    return deleted === 'deleted' ? 'released' : deleted === 'changed' ? 'not_holder' : 'absent';
  }

  async peek(identifier: string): Promise<LockRecord | null> {
    const found = await this.read(lockCacheKey(this.keyPrefix, identifier));
    return found?.record ? { ...found.record, revision: found.cas.toString('hex') } : null;
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
