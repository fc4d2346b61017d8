import { BackendCallError } from '../errors';
import { LockKind } from '../kinds';
import { grpcCode, GrpcStatus } from '../datastore/datastore-errors';

/** Firestore answers a write whose precondition (exists, lastUpdateTime) does not hold with this. */
export const FAILED_PRECONDITION = 9;

export function isFailedPrecondition(error: unknown): boolean {
  return grpcCode(error) === FAILED_PRECONDITION;
}

export function isAlreadyExists(error: unknown): boolean {
  return grpcCode(error) === GrpcStatus.ALREADY_EXISTS;
}

/**
 * Maps a failed Firestore call to what the retry layer needs to know; the same gRPC codes as
 * Datastore's. ABORTED is contention: nothing was applied. Unavailability and deadlines (ours,
 * see firestore-calls.ts, included) leave a write's outcome unknown.
 */
export function classifyFirestoreError(error: unknown, call: { write: boolean; what: string }): BackendCallError {
  if (error instanceof BackendCallError) return error;
  const message = `Firestore ${call.what} failed: ${(error as Error)?.message ?? String(error)}`;
  const options = { kind: LockKind.STRONG, cause: error };
  switch (grpcCode(error)) {
    case GrpcStatus.ABORTED:
      return new BackendCallError(message, { retryable: true, mayHaveApplied: false, contention: true }, options);
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new BackendCallError(message, { retryable: true, mayHaveApplied: false, contention: false }, options);
    case GrpcStatus.CANCELLED:
    case GrpcStatus.UNKNOWN:
    case GrpcStatus.DEADLINE_EXCEEDED:
    case GrpcStatus.INTERNAL:
    case GrpcStatus.UNAVAILABLE:
      return new BackendCallError(message, { retryable: true, mayHaveApplied: call.write, contention: false }, options);
    default:
      return new BackendCallError(message, { retryable: false, mayHaveApplied: false, contention: false }, options);
  }
}
