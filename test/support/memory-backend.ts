import type { AcquireOutcome, AcquireRequest, LockBackend, LockRecord, ReleaseOutcome } from '../../shared/backend';
import { LockKind } from '../../shared';

/**
 * An in-memory backend for unit tests of the layers above the stores (waiting, retries, the local
 * queue) under fake timers. It keeps the contract's semantics; it is never used to test a store.
 */
export class MemoryBackend implements LockBackend {
  readonly capabilities = { fence: true } as const;
  readonly locks = new Map<string, LockRecord>();
  /** Each tryAcquire: when (Date.now()) and for which token. */
  readonly attempts: { at: number; token: string }[] = [];
  /** Errors thrown by the next calls of any method, first in first out. */
  readonly failures: Error[] = [];
  private fence = 0n;

  constructor(readonly kind: LockKind = LockKind.STRONG) {}

  async tryAcquire(request: AcquireRequest): Promise<AcquireOutcome> {
    this.attempts.push({ at: Date.now(), token: request.token });
    this.failIfAsked();
    const holder = this.locks.get(request.identifier);
    const stale = holder && request.stealAfterMs !== undefined && Date.now() - holder.acquiredAt.getTime() > request.stealAfterMs;
    if (holder && !stale) return { acquired: false };
    const record = { identifier: request.identifier, token: request.token, acquiredAt: new Date(), fence: ++this.fence };
    this.locks.set(request.identifier, record);
    return { acquired: true, record };
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
    const record = { identifier, token, acquiredAt: new Date(), fence: ++this.fence };
    this.locks.set(identifier, record);
    return record;
  }

  private failIfAsked(): void {
    const failure = this.failures.shift();
    if (failure) throw failure;
  }
}
