import type {
  AcquireOutcome,
  AcquireRequest,
  LockBackend,
  LockRecord,
  ReleaseOutcome,
  RenewOutcome,
  RenewRequest,
} from '../../shared/backend';
import {LockKind} from '../../shared';
import {lastSignOf, takeoverOf} from '../../shared/taking-rules';

/**
 * An in-memory backend for unit tests of the layers above the stores (waiting, retries, the local
 * queue, renewal) under fake timers. It keeps the contract's semantics, on this process's clock;
 * it is never used to test a store.
 */
export class MemoryBackend implements LockBackend {
  readonly locks = new Map<string, LockRecord>();
  /** Each tryAcquire: when (Date.now()) and for which token. */
  readonly attempts: {at: number; token: string}[] = [];
  /** Each renew: when, and for which token. */
  readonly renewals: {at: number; token: string}[] = [];
  /** Errors thrown by the next calls of any method, first in first out. */
  readonly failures: Error[] = [];
  private fence = 0n;

  constructor(readonly kind: LockKind = LockKind.STRONG) {}

  async tryAcquire(request: AcquireRequest): Promise<AcquireOutcome> {
    this.attempts.push({at: Date.now(), token: request.token});
    this.failIfAsked();
    const holder = this.locks.get(request.identifier);
    if (
      holder &&
      !takeoverOf(
        holder,
        Date.now() - lastSignOf(holder).getTime(),
        request.stealAfterMs,
      )
    )
      return {acquired: false};
    const record = {
      identifier: request.identifier,
      token: request.token,
      acquiredAt: new Date(),
      fence: ++this.fence,
      ...(request.leaseMs === undefined ? {} : {leaseMs: request.leaseMs}),
    };
    this.locks.set(request.identifier, record);
    return {acquired: true, record};
  }

  async renew(request: RenewRequest): Promise<RenewOutcome> {
    this.renewals.push({at: Date.now(), token: request.token});
    this.failIfAsked();
    const holder = this.locks.get(request.identifier);
    if (holder?.token !== request.token) return {renewed: false};
    const record = {
      ...holder,
      renewedAt: new Date(),
      ...(request.leaseMs === undefined ? {} : {leaseMs: request.leaseMs}),
    };
    this.locks.set(request.identifier, record);
    return {renewed: true, record};
  }

  async release(identifier: string, token: string): Promise<ReleaseOutcome> {
    this.failIfAsked();
    const holder = this.locks.get(identifier);
    if (!holder) return 'absent';
    if (holder.token !== token) return 'not_holder';
    this.locks.delete(identifier);
    return 'released';
  }

  async peek(identifier: string): Promise<LockRecord | null> {
    this.failIfAsked();
    return this.locks.get(identifier) ?? null;
  }

  /** Holds `identifier` as someone else would. */
  hold(identifier: string, token = 'someone-else'): LockRecord {
    const record = {
      identifier,
      token,
      acquiredAt: new Date(),
      fence: ++this.fence,
    };
    this.locks.set(identifier, record);
    return record;
  }

  private failIfAsked(): void {
    const failure = this.failures.shift();
    if (failure) throw failure;
  }
}
