import type {
  AcquireOutcome,
  AcquireRequest,
  LockBackend,
  LockRecord,
  ReleaseOutcome,
  RenewOutcome,
  RenewRequest,
} from '../../core/backend';
import {grantRecord, renewedRecord} from '../common/grant-records';
import {lastSignOf, takeoverKindOf, takeoverOf} from '../../core/taking-rules';
import {LockKind} from '../../core/kinds';
import type {CasValue, MemcacheOps} from './memcache-ops';
import {
  casDisabledError,
  classifyMemcacheError,
  isCasDisabled,
} from './memcached-errors';
import {
  decodeLockValue,
  encodeLockValue,
  expirySeconds,
  lockCacheKey,
} from './lock-value';

/**
 * WEAK locks on memcached: best effort. memcached may evict or lose a lock (restart, memory
 * pressure), and then a second holder gets in; there is no fence.
 *
 * Round trips: an uncontended acquire is one `add`. A held lock costs one more `get` only when the
 * caller may steal, and a steal is one compare-and-swap `set`, so of several thieves one wins. A
 * release is a `get` and a compare-and-swap `delete`.
 *
 * Every compare-and-swap uses a CAS read together with the value it proves. A CAS kept from an
 * earlier call proves nothing: memcached's CAS counter starts again at 1 when it restarts, so the
 * CAS a grant got before a restart can be the new holder's. A release therefore reads the lock,
 * checks the token, and deletes with the CAS of what it read.
 */
export class MemcachedLockBackend implements LockBackend {
  readonly kind = LockKind.WEAK;

  constructor(
    readonly ops: MemcacheOps,
    private readonly keyPrefix: string,
  ) {}

  async tryAcquire(request: AcquireRequest): Promise<AcquireOutcome> {
    const key = lockCacheKey(this.keyPrefix, request.identifier);
    const record = grantRecord(request);
    const cas = await this.call(true, () =>
      this.ops.add(key, encodeLockValue(record), backstopSeconds(record)),
    );
    if (cas && isCasDisabled(cas)) {
      // Reading it back removes the lock this add wrote; the read always refuses on such a server.
      await this.read(key, request.token).catch(() => undefined);
      throw casDisabledError();
    }
    if (cas) return {acquired: true, record};

    const current = await this.read(key, request.token);
    const holder = current?.record ?? null;
    // This host's clock against the holder's: memcached keeps no write time of its own.
    if (
      !current ||
      !holder ||
      holder.token === request.token ||
      !takeoverOf(
        holder,
        Date.now() - lastSignOf(holder).getTime(),
        request.stealAfterMs,
      )
    ) {
      return {acquired: false, holder};
    }
    const taker = grantRecord(request);
    const swapped = await this.call(true, () =>
      this.ops.casSet(
        key,
        encodeLockValue(taker),
        backstopSeconds(taker),
        current.cas,
      ),
    );
    return Buffer.isBuffer(swapped)
      ? {acquired: true, record: taker, takeover: takeoverKindOf(holder)}
      : {acquired: false};
  }

  /**
   * Two round trips: a `get`, then a compare-and-swap `set` with the CAS read alongside the value
   * that proves the lock is still this token's (a kept CAS proves nothing, see above). A swap that
   * finds the key changed reads again: the change may be the holder's own earlier renewal.
   */
  async renew(request: RenewRequest): Promise<RenewOutcome> {
    const key = lockCacheKey(this.keyPrefix, request.identifier);
    for (let tries = 0; tries < RENEW_TRIES; tries++) {
      const current = await this.read(key);
      if (!current?.record || current.record.token !== request.token)
        return {renewed: false};
      const renewed = renewedRecord(current.record, request.leaseMs);
      const swapped = await this.call(true, () =>
        this.ops.casSet(
          key,
          encodeLockValue(renewed),
          backstopSeconds(renewed),
          current.cas,
        ),
      );
      if (Buffer.isBuffer(swapped)) return {renewed: true, record: renewed};
      if (swapped === 'missing') return {renewed: false};
    }
    return {renewed: false};
  }

  /**
   * The grant's revision is not used: its CAS may have been handed out again since (see above). A
   * delete that finds the key changed reads again: the change may be this holder's own renewal.
   */
  async release(identifier: string, token: string): Promise<ReleaseOutcome> {
    const key = lockCacheKey(this.keyPrefix, identifier);
    for (let tries = 0; tries < RENEW_TRIES; tries++) {
      const current = await this.read(key, token);
      if (!current) return 'absent';
      if (current.record?.token !== token) return 'not_holder';
      const deleted = await this.call(true, () =>
        this.ops.casDelete(key, current.cas),
      );
      if (deleted === 'deleted') return 'released';
      // Missing: it expired meanwhile. Changed: read whose it is now.
      if (deleted === 'missing') return 'absent';
    }
    return 'not_holder';
  }

  async peek(identifier: string): Promise<LockRecord | null> {
    return (
      (await this.read(lockCacheKey(this.keyPrefix, identifier)))?.record ??
      null
    );
  }

  /**
   * The stored lock and its CAS; `record` is null when the key holds something that is not a lock.
   * Every decision about an existing lock starts here, so a server without CAS is refused here,
   * peeks included (an acquire whose `add` may have landed trusts a peek that finds its token).
   * A lock there carrying `ownToken` was never granted (its `add` landed, then the caller was
   * refused) and is removed, so no lock is left that nobody holds.
   */
  private async read(
    key: string,
    ownToken?: string,
  ): Promise<(CasValue & {record: LockRecord | null}) | null> {
    const found = await this.call(false, () => this.ops.gets(key));
    if (!found) return null;
    const record = decodeLockValue(found.value);
    if (isCasDisabled(found.cas)) {
      // Unconditional without CAS; no client of this library writes over a lock on such a server.
      if (ownToken !== undefined && record?.token === ownToken)
        await this.ops.casDelete(key, found.cas).catch(() => undefined);
      throw casDisabledError();
    }
    return {...found, record};
  }

  private async call<T>(
    write: boolean,
    operation: () => Promise<T>,
  ): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw classifyMemcacheError(error, {write});
    }
  }
}

/** A lock whose key keeps changing under a renewal or release is in someone else's hands. */
const RENEW_TRIES = 3;

/**
 * memcached's own expiry, a backstop only: the rule is applied to the millisecond from the stored
 * times (taking-rules.ts). A lease's key outlives the lease by at least LEASE_KEY_GRACE_MS, so an
 * expired lease nobody has taken yet can still be renewed for that long (memcached's one-second
 * clock makes an n-second expiry last between n-1 and n seconds); a lease-less lock's key expires
 * after its own steal time (djangae's behaviour), or never.
 */
function backstopSeconds(record: LockRecord): number {
  return record.leaseMs !== undefined
    ? expirySeconds(record.leaseMs + LEASE_KEY_GRACE_MS)
    : expirySeconds(record.stealAfterMs);
}

const LEASE_KEY_GRACE_MS = 1000;
