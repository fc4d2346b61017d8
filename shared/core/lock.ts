import {randomUUID} from 'node:crypto';
import {attemptRelease, attemptRenew} from './attempts';
import type {LockBackend, LockRecord} from './backend';
import {currentRuntime} from '../configuration/config';
import type {LockRuntime, RuntimeSource} from '../configuration/runtime';
import {withinBudget} from './budget';
import {LockAcquisitionError, LockError} from './errors';
import type {
  EntityPath,
  EntityUpdate,
  FencedWriteOptions,
  FencedWriteResult,
} from './fenced-data';
import {heldFencedWrite} from './fenced-write';
import {validateIdentifier} from '../validation';
import {holderIdOf} from './holder-id';
import type {LockKind} from './kinds';
import {LeaseEndAlarm} from './lease-end';
import {intervalOf, LeaseKeeper} from './lease-keeper';
import {
  resolveLockOptions,
  type LockOptions,
  type ResolvedLockOptions,
} from '../configuration/options';
import {
  noteLost,
  observeAcquire,
  observeRelease,
  observeRenew,
  type Subject,
} from '../telemetry/lock-telemetry';
import {acquireWithWaiting} from './waiting';
import {releaseRevisionOf} from '../waiting-room/state';

/**
 * How a release removes the lock: by default the backend's owner-checked release; lockedHandler's
 * waiting room hands the lock on instead. `record` is the lock as this holder last wrote it.
 */
export type LockRemoval = (
  backend: LockBackend,
  record: LockRecord,
) => Promise<boolean>;

/**
 * STRONG grants carry a fence: a bigint (the Datastore entity version, an int64 that can exceed
 * Number.MAX_SAFE_INTEGER) strictly greater on every new grant of the same identifier. Pass it to
 * whatever the lock protects so a paused, superseded holder's late writes can be refused.
 * WEAK grants have none: memcached has no way to order grants that survives eviction or restart.
 */
export type FenceOf<K extends LockKind> = K extends LockKind.STRONG
  ? bigint
  : K extends LockKind.WEAK
    ? undefined
    : bigint | undefined;

/** Options whose `kind` decides the type of the lock you get back. */
export type LockOptionsOf<K extends LockKind> = LockOptions & {kind?: K};

export class Lock<K extends LockKind = LockKind> {
  readonly identifier: string;
  readonly kind: K;
  /** Unique per grant, and the credential to release it: keep it to the holder. */
  readonly token: string;
  /** A short, non-reversible id of this grant, safe to log; `peek()` shows the same. */
  readonly holderId: string;
  readonly acquiredAt: Date;
  /** Strictly greater on every new grant of this identifier; the same across renewals of this one. */
  readonly fence: FenceOf<K>;
  /** The lease this grant was made with, if any. */
  readonly leaseMs: number | undefined;
  /** The lock as this holder last wrote it, with the store's mark of that write (see LockRecord.revision). */
  #record: LockRecord;
  /** When the grant, or the last renewal that succeeded, was sent: the lease runs from no earlier. */
  #confirmedAt: number;
  readonly #lost = new AbortController();
  #keeper: LeaseKeeper | undefined;
  /** Armed when `signal` is first read: nobody can hear an abort before that, and the judge is the clock. */
  #leaseEnd: LeaseEndAlarm | undefined;
  /** When the current release() began: the work the lock protected ended then, whatever the lease does after. */
  #releaseBegunAt: number | undefined;
  /** The renewal in flight, which a release waits for: the two would otherwise race on the lock. */
  #renewing: Promise<boolean> | undefined;
  private releasing: Promise<boolean> | undefined;
  readonly #subject: Subject & {identifier: string};

  private constructor(
    private readonly runtime: LockRuntime,
    kind: K,
    record: LockRecord,
    sentAt: number,
  ) {
    this.identifier = record.identifier;
    this.kind = kind;
    this.token = record.token;
    this.holderId = holderIdOf(record.token);
    this.acquiredAt = record.acquiredAt;
    this.fence = record.fence as FenceOf<K>;
    this.leaseMs = record.leaseMs;
    this.#record = record;
    this.#confirmedAt = sentAt;
    this.#subject = {
      kind,
      identifier: record.identifier,
      recordIdentifiers: runtime.config.telemetry.recordIdentifiers,
    };
  }

  /**
   * Acquires the lock, or resolves `null` when it could not (bailed with `wait: false`, or
   * `waitForMs` ran out). Rejects with LockError for bad input or a store that stays unavailable.
   */
  static async acquire<K extends LockKind = LockKind.STRONG>(
    identifier: string,
    options?: LockOptionsOf<K>,
  ): Promise<Lock<K> | null> {
    return acquireIn(currentRuntime, identifier, options);
  }

  /**
   * Aborts when this holder can no longer count on the lock: a renewal or release answered that it
   * is someone else's or gone, or, for a lease, no later than the end of the last confirmed lease
   * (counted from when the confirming write was sent), whatever stopped the renewals: stopRenewing(),
   * lockedHandler's deadline, `autoRenew: false`, renewals failing or hanging. Reading it checks the
   * clock, so code resumed after a pause (GC, a frozen instance) sees the abort before any overdue
   * timer has run. `signal.reason` is a LockError with code `LOCK_LOST`. Pass it to the work the
   * lock protects, so that work can stop; fence the writes too, since a check is only advice.
   */
  get signal(): AbortSignal {
    if (!this.#leaseEnd) this.watchLeaseEnd();
    this.judgeLease();
    return this.#lost.signal;
  }

  /** @internal The lock as this holder last wrote it (its waiting room, its revision). */
  get lastWritten(): LockRecord {
    return this.#record;
  }

  /** For a lease: when it ends unless renewed, on this host's clock (the store's clock decides). */
  get expiresAt(): Date | undefined {
    return this.leaseMs === undefined
      ? undefined
      : new Date(this.#confirmedAt + this.leaseMs);
  }

  /**
   * Extends the lease by the grant's own `leaseMs` from now (for a lease-less grant, refreshes its
   * last sign of life, which stealing and cleanup measure from). `false` when the lock is no
   * longer this holder's, which also aborts `signal`. Once `signal` has aborted, `false` without
   * writing anything: a lease that ran out is lost even if nobody has taken it yet, because work
   * done after its end was unprotected, and renewing would hide that. Such a lock is not revived;
   * release() still removes it, and a fresh acquire takes it. Rejects when the store stays
   * unavailable.
   */
  renew(): Promise<boolean> {
    if (this.releasing || this.signal.aborted) return Promise.resolve(false);
    const renewal = observeRenew(this.#subject, this.holderId, this.fence, () =>
      this.renewOnce(),
    );
    this.#renewing = renewal;
    return renewal;
  }

  private async renewOnce(): Promise<boolean> {
    const sentAt = Date.now();
    const backend = await this.runtime.backend(this.kind);
    const outcome = await attemptRenew(
      backend,
      {identifier: this.identifier, token: this.token},
      this.runtime.config.retry,
      this.#record,
    );
    if (!outcome.renewed) {
      // A release that began meanwhile decides, and reports, what happened to the lock.
      if (!this.releasing)
        this.markLost('a renewal found the lock no longer held by this holder');
      return false;
    }
    // Kept even when a release is waiting for this renewal, or the lease ended before the answer
    // came: the release then deletes this exact write.
    this.#record = outcome.record;
    this.#confirmedAt = Math.max(this.#confirmedAt, sentAt);
    return !this.#lost.signal.aborted;
  }

  /**
   * Removes this holder's lock. `true` when it did; `false` when the lock was no longer this
   * holder's (stolen, expired and taken, cleaned up, or already released by an earlier call).
   * Never removes a lock another holder has.
   */
  release(): Promise<boolean> {
    return this.releaseVia((backend, record) =>
      attemptRelease(
        backend,
        this.identifier,
        this.token,
        this.runtime.config.retry,
        // With messages parked, the store must see them: it leaves the lock vacant, not deleted.
        releaseRevisionOf(record),
      ),
    );
  }

  /**
   * @internal `release()` with another way of removing the lock (lockedHandler's hand-off): the
   * same stop of renewals, judgement of the lease and loss signal around it.
   */
  releaseVia(remove: LockRemoval): Promise<boolean> {
    if (this.releasing) return this.releasing.then(() => false);
    this.#keeper?.stop();
    this.#leaseEnd?.stop();
    this.#releaseBegunAt = Date.now();
    this.judgeLease();
    const attempt = this.releaseOnce(remove);
    this.releasing = attempt;
    // A release that failed (store unavailable) may be tried again by calling release() again.
    attempt.catch(() => {
      if (this.releasing !== attempt) return;
      this.releasing = undefined;
      this.#releaseBegunAt = undefined;
      if (this.#leaseEnd) this.watchLeaseEnd();
    });
    return attempt;
  }

  /**
   * Stops background renewal without releasing: the lease then runs out by itself, and `signal`
   * aborts when it does. For a holder that must not be kept alive past a deadline of its own, such
   * as its function's timeout, after which the platform may freeze or kill it while the lock still
   * looks renewed.
   */
  stopRenewing(): void {
    this.#keeper?.stop();
  }

  /**
   * Writes the entity (Datastore) or document (Firestore) at `path`, in this lock's own store and
   * namespace, with what `update` makes of its current data, fenced by this grant's fence: a lower
   * fence than the highest that ever wrote the path rejects `STALE_FENCE` and nothing is written.
   * With `onceKey`, a write already made with it resolves `{applied: false, reason: 'duplicate'}`.
   * STRONG locks only. See docs/leases-and-fenced-writes.md, "Fenced writes".
   */
  fencedUpdate(
    path: EntityPath,
    update: EntityUpdate,
    options?: FencedWriteOptions,
  ): Promise<FencedWriteResult> {
    return heldFencedWrite(this.runtime, this, path, update, options);
  }

  /** `fencedUpdate`'s delete: removes the data and keeps its highest fence (a tombstone). */
  fencedDelete(
    path: EntityPath,
    options?: FencedWriteOptions,
  ): Promise<FencedWriteResult> {
    return heldFencedWrite(this.runtime, this, path, undefined, options);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  private async releaseOnce(remove: LockRemoval): Promise<boolean> {
    try {
      await this.#renewing?.catch(() => undefined);
      const backend = await this.runtime.backend(this.kind);
      const released = await observeRelease(this.#subject, this.holderId, () =>
        remove(backend, this.#record),
      );
      if (!released)
        this.markLost(
          'the release found the lock no longer held by this holder',
        );
      return released;
    } finally {
      this.runtime.queue.wake(this.kind, this.identifier);
    }
  }

  /**
   * Renews in the background until release (see LeaseKeeper). Each renewal may take what is left of
   * the lease (a renewal queued behind another transaction on the lock still counts), and at least
   * one renewal interval. An answer after the lease's end cannot un-abort `signal`, but the write
   * still keeps others out of the store until this holder, told of the loss, releases.
   */
  private keepAlive(): void {
    const leaseMs = this.leaseMs;
    if (leaseMs === undefined || this.#keeper) return;
    this.#keeper = new LeaseKeeper({
      leaseMs,
      renew: () =>
        withinBudget(
          Math.max(
            Date.now() + intervalOf(leaseMs),
            this.#confirmedAt + leaseMs,
          ),
          () => this.renew(),
        ),
      lastConfirmedAt: () => this.#confirmedAt,
      lost: reason => this.markLost(reason),
    });
  }

  /** Aborts `signal` at the end of the last confirmed lease, even with nothing renewing it. */
  private watchLeaseEnd(): void {
    const leaseMs = this.leaseMs;
    if (leaseMs === undefined || this.releasing || this.#lost.signal.aborted)
      return;
    this.#leaseEnd?.stop();
    this.#leaseEnd = new LeaseEndAlarm(
      () => this.#confirmedAt + leaseMs,
      () => this.judgeLease(),
    );
  }

  /**
   * The lease is over once the clock passes its end with no later renewal confirmed; a release
   * that began before the end stops the clock, since the protected work was over by then.
   */
  private judgeLease(): void {
    if (this.leaseMs === undefined || this.#lost.signal.aborted) return;
    const endsAt = this.#confirmedAt + this.leaseMs;
    if ((this.#releaseBegunAt ?? Date.now()) < endsAt) return;
    this.markLost(
      `its ${this.leaseMs} ms lease ran out ${Date.now() - endsAt} ms ago with no renewal confirmed since`,
    );
  }

  private markLost(reason: string): void {
    if (this.#lost.signal.aborted) return;
    this.#keeper?.stop();
    this.#leaseEnd?.stop();
    noteLost(this.#subject, this.holderId);
    this.#lost.abort(
      new LockError(
        'LOCK_LOST',
        `lost the lock ${JSON.stringify(this.identifier.slice(0, 80))}: ${reason}`,
        {kind: this.kind},
      ),
    );
  }

  /** @internal */
  static fromRecord<K extends LockKind>(
    runtime: LockRuntime,
    kind: K,
    record: LockRecord,
    sentAt: number,
    autoRenew: boolean,
  ): Lock<K> {
    const held = new Lock(runtime, kind, record, sentAt);
    if (autoRenew) held.keepAlive();
    return held;
  }
}

/**
 * `Lock.acquire` on the runtime `runtimeOf` gives.
 * @internal
 */
export function acquireIn<K extends LockKind = LockKind.STRONG>(
  runtimeOf: RuntimeSource,
  identifier: string,
  options?: LockOptionsOf<K>,
): Promise<Lock<K> | null> {
  validateIdentifier(identifier);
  return acquireResolved(
    runtimeOf,
    identifier,
    resolveLockOptions(options),
  ) as Promise<Lock<K> | null>;
}

async function acquireResolved(
  runtimeOf: RuntimeSource,
  identifier: string,
  options: ResolvedLockOptions,
  autoRenew = options.autoRenew,
): Promise<Lock | null> {
  const runtime = runtimeOf();
  const backend = await runtime.backend(options.kind);
  const request = {
    identifier,
    token: randomUUID(),
    ...(options.stealAfterMs === undefined
      ? {}
      : {stealAfterMs: options.stealAfterMs}),
    ...(options.leaseMs === undefined ? {} : {leaseMs: options.leaseMs}),
  };
  const grant = await observeAcquire(
    {
      kind: options.kind,
      identifier,
      recordIdentifiers: runtime.config.telemetry.recordIdentifiers,
    },
    () =>
      acquireWithWaiting(
        {
          backend,
          queue: runtime.queue,
          waitBackoff: runtime.config.waitBackoff,
          retry: runtime.config.retry,
        },
        request,
        options,
      ),
  );
  // The lease runs from when the winning write was sent at the earliest; the grant's own time is a
  // safe stand-in (it is taken before the write).
  return grant
    ? Lock.fromRecord(
        runtime,
        options.kind,
        grant.record,
        grant.record.acquiredAt.getTime(),
        autoRenew,
      )
    : null;
}

export interface LockGuard {
  /**
   * The context-manager form: acquires, runs `fn` with the held lock (its fence, signal, renew),
   * always releases, and rethrows what `fn` threw. Throws LockAcquisitionError when the lock could
   * not be acquired. With `leaseMs`, the lease is renewed while `fn` runs. If the lock was lost
   * while `fn` ran (stolen, expired, cleaned up) and `fn` did not throw, rejects with LockError
   * `LOCK_LOST` once `fn` has settled: never silently.
   */
  run<T>(fn: (held: Lock) => T | Promise<T>): Promise<T>;
  /**
   * The decorator form: a function with `fn`'s parameters that resolves `undefined` without
   * calling `fn` when the lock could not be acquired, and `fn`'s result otherwise; a lock lost
   * while `fn` ran rejects with `LOCK_LOST`, as in `run`.
   */
  wrap<A extends unknown[], R>(
    fn: (...args: A) => R | Promise<R>,
  ): (...args: A) => Promise<R | undefined>;
}

/**
 * `lock` on the runtime `runtimeOf` gives when the guard runs.
 * @internal
 */
export function lockIn(
  runtimeOf: RuntimeSource,
  identifier: string,
  options?: LockOptions,
): LockGuard {
  validateIdentifier(identifier);
  const resolved = resolveLockOptions(options);

  async function holding<T>(
    whenHeld: () => Promise<T> | T,
    fn: (held: Lock) => T | Promise<T>,
  ): Promise<T> {
    const held = await acquireResolved(
      runtimeOf,
      identifier,
      resolved,
      resolved.leaseMs !== undefined,
    );
    if (!held) return whenHeld();
    let result: T;
    try {
      result = await fn(held);
    } catch (error) {
      // A failed release must not hide what fn threw.
      await held.release().catch(() => undefined);
      throw error;
    }
    const released = await held.release();
    if (!released || held.signal.aborted) throw held.signal.reason as LockError;
    return result;
  }

  return {
    run: fn =>
      holding(() => {
        throw new LockAcquisitionError(identifier, resolved.kind);
      }, fn),
    wrap:
      <A extends unknown[], R>(fn: (...args: A) => R | Promise<R>) =>
      (...args: A) =>
        holding<R | undefined>(
          () => undefined,
          () => fn(...args),
        ),
  };
}
