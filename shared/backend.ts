import type { LockKind } from './kinds';

/**
 * The one contract every store implements. Each method is ONE attempt: no waiting, no backoff, no
 * retry. Those live above the backends (see attempts.ts and waiting.ts), so STRONG and WEAK wait
 * and retry the same way. Failures are thrown as BackendCallError; "held by someone else" is a
 * result, never an exception.
 */
export interface LockBackend {
  readonly kind: LockKind;
  readonly capabilities: BackendCapabilities;
  tryAcquire(request: AcquireRequest): Promise<AcquireOutcome>;
  /**
   * Removes the lock only when `token` still holds it. `revision`, when the caller has the one its
   * grant returned, lets a store check ownership without reading the lock first.
   */
  release(identifier: string, token: string, revision?: string): Promise<ReleaseOutcome>;
  peek(identifier: string): Promise<LockRecord | null>;
  /**
   * Removes abandoned locks: those acquired before `acquiredBefore`, and stealable ones whose
   * `expiresAt` passed `expiredBefore`; never one re-acquired since it was found. Stores whose
   * locks expire by themselves (memcached) do not implement it.
   */
  cleanup?(criteria: CleanupCriteria): Promise<number>;
}

export interface CleanupCriteria {
  readonly acquiredBefore: Date;
  readonly expiredBefore: Date;
}

export interface BackendCapabilities {
  /** Grants carry a fence from the store that strictly increases per identifier. */
  readonly fence: boolean;
}

export interface AcquireRequest {
  readonly identifier: string;
  /** Unique per grant; the same across retries of one acquire, so an ambiguous write is recognisable. */
  readonly token: string;
  /** Take over an existing lock whose holder has had it for longer than this. */
  readonly stealAfterMs?: number;
}

export type AcquireOutcome =
  | { readonly acquired: true; readonly record: LockRecord }
  /** `holder` is set when the attempt had to read the current lock anyway (to judge a steal). */
  | { readonly acquired: false; readonly holder?: LockRecord | null };

/**
 * released: this token's lock was removed. not_holder: a lock exists and belongs to another token
 * (left untouched). absent: there was no lock at all.
 */
export type ReleaseOutcome = 'released' | 'not_holder' | 'absent';

export interface LockRecord {
  readonly identifier: string;
  readonly token: string;
  readonly acquiredAt: Date;
  /** When the holder's lock becomes stealable (set when it was acquired with stealAfterMs). */
  readonly expiresAt?: Date;
  /** STRONG only: the store's version of the lock entity. */
  readonly fence?: bigint;
  /**
   * Opaque to everything but the backend: the store's mark of this exact state of the lock, for a
   * release that checks ownership in the same round trip where the mark proves it (the Datastore
   * entity version). Absent where no kept mark is proof (memcached reuses CAS values after a restart).
   */
  readonly revision?: string;
}
