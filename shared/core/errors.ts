import type {LockKind} from './kinds';

/**
 * The closed set of reasons a lock call can fail. "Held by someone else" is not among them: that is
 * a result (`null`, `false`), except in the context-manager form where it is LockAcquisitionError.
 */
export type LockErrorCode =
  /** The caller passed something the library cannot use (bad identifier, negative time, ...). */
  | 'INVALID_ARGUMENT'
  /** The store did not answer in time, or answered that it is unavailable, after bounded retries. */
  | 'BACKEND_UNAVAILABLE'
  /** The store refused the call for a reason retrying will not fix (permissions, bad config). */
  | 'BACKEND_FAILURE'
  /** `lock(...).run()` could not acquire the lock. */
  | 'NOT_ACQUIRED'
  /**
   * The holder learned it no longer holds the lock: a renewal or release answered that the lock is
   * someone else's or gone, or its lease ran out with no renewal confirmed (renewal stopped, failed
   * or hung).
   */
  | 'LOCK_LOST'
  /**
   * fencedUpdate refused a write: the entity was already written with a higher fence, by a later
   * holder of the lock (this holder was paused or partitioned past its lease).
   */
  | 'STALE_FENCE';

export class LockError extends Error {
  readonly code: LockErrorCode;
  readonly kind: LockKind | undefined;

  constructor(
    code: LockErrorCode,
    message: string,
    options: {kind?: LockKind | undefined; cause?: unknown} = {},
  ) {
    super(
      message,
      options.cause === undefined ? undefined : {cause: options.cause},
    );
    this.name = 'LockError';
    this.code = code;
    this.kind = options.kind;
  }
}

/** Thrown by the context-manager form (`lock(id).run(fn)`) when the lock could not be acquired. */
export class LockAcquisitionError extends LockError {
  readonly identifier: string;

  constructor(identifier: string, kind?: LockKind) {
    super(
      'NOT_ACQUIRED',
      `could not acquire the lock ${JSON.stringify(truncate(identifier))}`,
      {kind},
    );
    this.name = 'LockAcquisitionError';
    this.identifier = identifier;
  }
}

/**
 * A failed store call as a backend reports it, before the retry layer decides what to do.
 * `retryable`: trying again may succeed (contention, unavailability, deadline).
 * `mayHaveApplied`: a write whose outcome is unknown (the store may have applied it).
 */
export class BackendCallError extends LockError {
  readonly retryable: boolean;
  readonly mayHaveApplied: boolean;
  /** Contention (another transaction on the same lock) rather than an unhealthy store. */
  readonly contention: boolean;

  constructor(
    message: string,
    flags: {retryable: boolean; mayHaveApplied: boolean; contention: boolean},
    options: {kind: LockKind; cause?: unknown},
  ) {
    super(
      flags.retryable ? 'BACKEND_UNAVAILABLE' : 'BACKEND_FAILURE',
      message,
      options,
    );
    this.name = 'BackendCallError';
    this.retryable = flags.retryable;
    this.mayHaveApplied = flags.mayHaveApplied;
    this.contention = flags.contention;
  }
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
