import {BackendCallError} from '../../core/errors';
import {LockKind} from '../../core/kinds';

/** The connection failed, was down, or did not answer within the deadline. */
export class ValkeyTransportError extends Error {
  constructor(
    operation: string,
    cause: unknown,
    /** Refused before anything was sent (no connection): nothing can have been applied. */
    readonly unsent: boolean,
  ) {
    super(
      `valkey ${operation} failed: ${(cause as Error)?.message ?? String(cause)}`,
      {cause},
    );
    this.name = 'ValkeyTransportError';
  }
}

/**
 * Error replies that mean "try again" and applied nothing: the server is loading its data, busy
 * with a script, failing over, or (cluster) moving a slot. Counted as contention, as memcached's
 * BUSY is: passing, and no sign of an unhealthy store.
 */
const TRY_AGAIN = /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|CLUSTERDOWN|READONLY)\b/;

/**
 * Maps a failed Valkey call to what the retry layer needs to know, as memcached's does: a broken
 * or silent connection is BACKEND_UNAVAILABLE, and leaves a write's outcome unknown unless it was
 * never sent; any other error reply (a script error, OOM, NOPERM, WRONGPASS) will not improve on retry.
 */
export function classifyValkeyError(
  error: unknown,
  call: {write: boolean},
): BackendCallError {
  if (error instanceof BackendCallError) return error;
  const options = {kind: LockKind.WEAK, cause: error};
  const message = (error as Error)?.message ?? String(error);
  if (error instanceof ValkeyTransportError) {
    return new BackendCallError(
      message,
      {
        retryable: true,
        mayHaveApplied: call.write && !error.unsent,
        contention: false,
      },
      options,
    );
  }
  if (TRY_AGAIN.test(message)) {
    return new BackendCallError(
      `valkey: ${message}`,
      {retryable: true, mayHaveApplied: false, contention: true},
      options,
    );
  }
  return new BackendCallError(
    `valkey: ${message}`,
    {retryable: false, mayHaveApplied: false, contention: false},
    options,
  );
}
