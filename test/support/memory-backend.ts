import type {
  AcquireOutcome,
  AcquireRequest,
  CleanupCriteria,
  LockBackend,
  LockRecord,
  ReleaseOutcome,
  RenewOutcome,
  RenewRequest,
} from '../../shared/core/backend';
import {LockKind} from '../../shared';
import {BackendCallError} from '../../shared/core/errors';
import type {BackendFixture} from './backend-fixtures';
import {
  abandoned,
  expiryOf,
  lastSignOf,
  takeoverOf,
} from '../../shared/core/taking-rules';

/**
 * An in-memory backend: the contract's semantics on this process's clock, for the unit tier. It
 * drives the layers above the stores (waiting, retries, the local queue, renewal) under fake
 * timers, and runs the public contract suite and the HTTP functions without any store. It is never
 * used to test a store. As the contract asks of each kind, a STRONG one fences its grants and can
 * clean up; a WEAK one does neither.
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

  constructor(readonly kind: LockKind = LockKind.STRONG) {
    if (kind === LockKind.STRONG) this.cleanup = this.removeAbandoned;
  }

  cleanup?: (criteria: CleanupCriteria) => Promise<number>;

  async tryAcquire(request: AcquireRequest): Promise<AcquireOutcome> {
    this.attempts.push({at: Date.now(), token: request.token});
    this.failIfAsked();
    const holder = this.locks.get(request.identifier);
    if (
      holder &&
      !takeoverOf(holder, this.sinceLastSign(holder), request.stealAfterMs)
    )
      return {acquired: false};
    const record = this.granted({
      identifier: request.identifier,
      token: request.token,
      acquiredAt: new Date(),
      leaseMs: request.leaseMs,
      stealAfterMs: request.stealAfterMs,
    });
    this.locks.set(request.identifier, record);
    return {acquired: true, record};
  }

  async renew(request: RenewRequest): Promise<RenewOutcome> {
    this.renewals.push({at: Date.now(), token: request.token});
    this.failIfAsked();
    const holder = this.locks.get(request.identifier);
    if (holder?.token !== request.token) return {renewed: false};
    const renewed = {
      ...holder,
      renewedAt: new Date(),
      ...(request.leaseMs === undefined ? {} : {leaseMs: request.leaseMs}),
    };
    const record = {
      ...renewed,
      expiresAt: expiryOf(renewed.renewedAt, renewed),
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
    const record = this.granted({identifier, token, acquiredAt: new Date()});
    this.locks.set(identifier, record);
    return record;
  }

  private async removeAbandoned(criteria: CleanupCriteria): Promise<number> {
    this.failIfAsked();
    let deleted = 0;
    for (const [identifier, holder] of this.locks) {
      const age = criteria.now.getTime() - lastSignOf(holder).getTime();
      if (abandoned(holder, age, criteria)) {
        this.locks.delete(identifier);
        deleted++;
      }
    }
    return deleted;
  }

  private granted(
    grant: Pick<
      LockRecord,
      'identifier' | 'token' | 'acquiredAt' | 'leaseMs' | 'stealAfterMs'
    >,
  ): LockRecord {
    return {
      ...grant,
      expiresAt: expiryOf(grant.acquiredAt, grant),
      ...(this.kind === LockKind.STRONG ? {fence: ++this.fence} : {}),
    };
  }

  private sinceLastSign(holder: LockRecord): number {
    return Date.now() - lastSignOf(holder).getTime();
  }

  private failIfAsked(): void {
    const failure = this.failures.shift();
    if (failure) throw failure;
  }
}

/** The contract suites' fixture for an in-memory backend of `kind` (see backend-fixtures.ts). */
export function memoryFixture(kind: LockKind): BackendFixture {
  const backend = new MemoryBackend(kind);
  return {
    name: `${kind} on the in-memory backend`,
    kind,
    config: () => ({
      ...(kind === LockKind.STRONG ? {strong: backend} : {weak: backend}),
      retry: {initialMs: 5, maxMs: 20},
    }),
    injectContention: sandbox => {
      sandbox
        .stub(backend, 'tryAcquire')
        .rejects(
          new BackendCallError(
            'injected contention',
            {retryable: true, mayHaveApplied: false, contention: true},
            {kind},
          ),
        );
    },
  };
}

export const MEMORY_FIXTURES: readonly BackendFixture[] = [
  memoryFixture(LockKind.STRONG),
  memoryFixture(LockKind.WEAK),
];
