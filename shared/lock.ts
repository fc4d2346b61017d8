import { randomUUID } from 'node:crypto';
import { attemptRelease } from './attempts';
import type { LockRecord } from './backend';
import { currentRuntime, type LockRuntime } from './config';
import { LockAcquisitionError } from './errors';
import { validateIdentifier } from './identifier';
import { holderIdOf } from './holder-id';
import type { LockKind } from './kinds';
import { resolveLockOptions, type LockOptions, type ResolvedLockOptions } from './options';
import { acquireWithWaiting } from './waiting';

/**
 * STRONG grants carry a fence: a bigint (the Datastore entity version, an int64 that can exceed
 * Number.MAX_SAFE_INTEGER) strictly greater on every new grant of the same identifier. Pass it to
 * whatever the lock protects so a paused, superseded holder's late writes can be refused.
 * WEAK grants have none: memcached has no way to order grants that survives eviction or restart.
 */
export type FenceOf<K extends LockKind> = K extends LockKind.STRONG ? bigint : K extends LockKind.WEAK ? undefined : bigint | undefined;

/** Options whose `kind` decides the type of the lock you get back. */
export type LockOptionsOf<K extends LockKind> = LockOptions & { kind?: K };

export class Lock<K extends LockKind = LockKind> {
  readonly identifier: string;
  readonly kind: K;
  /** Unique per grant, and the credential to release it: keep it to the holder. */
  readonly token: string;
  /** A short, non-reversible id of this grant, safe to log; `peek()` shows the same. */
  readonly holderId: string;
  readonly acquiredAt: Date;
  readonly fence: FenceOf<K>;
  /** The store's mark of this grant, so release can check ownership without a read (see LockRecord). */
  readonly #revision: string | undefined;
  private releasing: Promise<boolean> | undefined;

  private constructor(
    private readonly runtime: LockRuntime,
    kind: K,
    record: LockRecord,
  ) {
    this.identifier = record.identifier;
    this.kind = kind;
    this.token = record.token;
    this.holderId = holderIdOf(record.token);
    this.acquiredAt = record.acquiredAt;
    this.fence = record.fence as FenceOf<K>;
    this.#revision = record.revision;
  }

  /**
   * Acquires the lock, or resolves `null` when it could not (bailed with `wait: false`, or
   * `waitForMs` ran out). Rejects with LockError for bad input or a store that stays unavailable.
   */
  static async acquire<K extends LockKind = LockKind.STRONG>(
    identifier: string,
    options?: LockOptionsOf<K>,
  ): Promise<Lock<K> | null> {
    validateIdentifier(identifier);
    return acquireResolved(identifier, resolveLockOptions(options)) as Promise<Lock<K> | null>;
  }

  /**
   * Removes this holder's lock. `true` when it did; `false` when the lock was no longer this
   * holder's (stolen, cleaned up, or already released by an earlier call). Never removes a lock
   * another holder has.
   */
  release(): Promise<boolean> {
    if (this.releasing) return this.releasing.then(() => false);
    const attempt = this.releaseOnce();
    this.releasing = attempt;
    // A release that failed (store unavailable) may be tried again by calling release() again.
    attempt.catch(() => {
      if (this.releasing === attempt) this.releasing = undefined;
    });
    return attempt;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  private async releaseOnce(): Promise<boolean> {
    try {
      const backend = await this.runtime.backend(this.kind);
      return await attemptRelease(backend, this.identifier, this.token, this.runtime.config.retry, this.#revision);
    } finally {
      this.runtime.queue.wake(this.kind, this.identifier);
    }
  }

  /** @internal */
  static fromRecord<K extends LockKind>(runtime: LockRuntime, kind: K, record: LockRecord): Lock<K> {
    return new Lock(runtime, kind, record);
  }
}

async function acquireResolved(identifier: string, options: ResolvedLockOptions): Promise<Lock | null> {
  const runtime = currentRuntime();
  const backend = await runtime.backend(options.kind);
  const request = {
    identifier,
    token: randomUUID(),
    ...(options.stealAfterMs === undefined ? {} : { stealAfterMs: options.stealAfterMs }),
  };
  const record = await acquireWithWaiting(
    { backend, queue: runtime.queue, waitBackoff: runtime.config.waitBackoff, retry: runtime.config.retry },
    request,
    options,
  );
  return record ? Lock.fromRecord(runtime, options.kind, record) : null;
}

export interface LockGuard {
  /**
   * The context-manager form: acquires, runs `fn`, always releases, and rethrows what `fn` threw.
   * Throws LockAcquisitionError when the lock could not be acquired.
   */
  run<T>(fn: () => T | Promise<T>): Promise<T>;
  /**
   * The decorator form: a function with `fn`'s parameters that resolves `undefined` without
   * calling `fn` when the lock could not be acquired, and `fn`'s result otherwise.
   */
  wrap<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R | undefined>;
}

/** djangae's `lock(identifier, ...)`, as a guard. Bad input throws here, at definition time. */
export function lock(identifier: string, options?: LockOptions): LockGuard {
  validateIdentifier(identifier);
  const resolved = resolveLockOptions(options);

  async function holding<T>(whenHeld: () => Promise<T> | T, fn: () => T | Promise<T>): Promise<T> {
    const held = await acquireResolved(identifier, resolved);
    if (!held) return whenHeld();
    let failed = false;
    try {
      return await fn();
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // A failed release must not hide what fn threw; when fn succeeded, the caller hears of it.
      await held.release().catch((error: unknown) => {
        if (!failed) throw error;
      });
    }
  }

  return {
    run: (fn) =>
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
