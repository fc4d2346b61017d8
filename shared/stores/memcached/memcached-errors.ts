import {BackendCallError} from '../../core/errors';
import {LockKind} from '../../core/kinds';
import {
  MemcacheStatus,
  MemcacheStatusError,
  MemcacheTransportError,
} from './memcache-ops';

/**
 * Maps a failed memcached call to what the retry layer needs to know. A broken or silent
 * connection leaves a write's outcome unknown. BUSY and TEMPORARY_FAILURE are memcached's way of
 * saying "try again" and applied nothing; any other unexpected status will not improve on retry.
 */
export function classifyMemcacheError(
  error: unknown,
  call: {write: boolean},
): BackendCallError {
  const options = {kind: LockKind.WEAK, cause: error};
  const message = (error as Error)?.message ?? String(error);
  if (error instanceof MemcacheTransportError) {
    return new BackendCallError(
      message,
      {retryable: true, mayHaveApplied: call.write, contention: false},
      options,
    );
  }
  if (
    error instanceof MemcacheStatusError &&
    (error.status === MemcacheStatus.BUSY ||
      error.status === MemcacheStatus.TEMPORARY_FAILURE)
  ) {
    return new BackendCallError(
      message,
      {retryable: true, mayHaveApplied: false, contention: true},
      options,
    );
  }
  return new BackendCallError(
    message,
    {retryable: false, mayHaveApplied: false, contention: false},
    options,
  );
}

/**
 * memcached started with `-C` stores every value with CAS 0, and treats a request carrying CAS 0
 * as unconditional: compare-and-swap protects nothing there, so several thieves would all win and
 * a stale release would delete the new holder's lock. Retrying cannot fix a server flag.
 */
export function isCasDisabled(cas: Buffer): boolean {
  return cas.every(byte => byte === 0);
}

export function casDisabledError(): BackendCallError {
  return new BackendCallError(
    'memcached answered CAS 0: CAS is disabled on this server (was it started with -C?). WEAK locks need compare-and-swap, so no lock is granted, stolen or released on it; restart memcached without -C',
    {retryable: false, mayHaveApplied: false, contention: false},
    {kind: LockKind.WEAK},
  );
}
