import { BackendCallError } from '../errors';
import { LockKind } from '../kinds';
import { MemcacheStatus, MemcacheStatusError, MemcacheTransportError } from './memcache-ops';

/**
 * Maps a failed memcached call to what the retry layer needs to know. A broken or silent
 * connection leaves a write's outcome unknown. BUSY and TEMPORARY_FAILURE are memcached's way of
 * saying "try again" and applied nothing; any other unexpected status will not improve on retry.
 */
export function classifyMemcacheError(error: unknown, call: { write: boolean }): BackendCallError {
  const options = { kind: LockKind.WEAK, cause: error };
  const message = (error as Error)?.message ?? String(error);
  if (error instanceof MemcacheTransportError) {
    return new BackendCallError(message, { retryable: true, mayHaveApplied: call.write, contention: false }, options);
  }
  if (error instanceof MemcacheStatusError && (error.status === MemcacheStatus.BUSY || error.status === MemcacheStatus.TEMPORARY_FAILURE)) {
    return new BackendCallError(message, { retryable: true, mayHaveApplied: false, contention: true }, options);
  }
  return new BackendCallError(message, { retryable: false, mayHaveApplied: false, contention: false }, options);
}
