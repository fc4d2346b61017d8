import {BackendCallError} from '../../core/errors';
import {
  classifyStrongStoreError,
  grpcCode,
  GrpcStatus,
} from '../common/grpc-errors';

/** Firestore answers a write whose precondition (exists, lastUpdateTime) does not hold with FAILED_PRECONDITION. */
export function isFailedPrecondition(error: unknown): boolean {
  return grpcCode(error) === GrpcStatus.FAILED_PRECONDITION;
}

export function isAlreadyExists(error: unknown): boolean {
  return grpcCode(error) === GrpcStatus.ALREADY_EXISTS;
}

/**
 * Maps a failed Firestore call to what the retry layer needs to know (see classifyStrongStoreError);
 * our own deadlines (firestore-calls.ts) count as DEADLINE_EXCEEDED: a write's outcome unknown.
 */
export function classifyFirestoreError(
  error: unknown,
  call: {write: boolean; what: string},
): BackendCallError {
  if (error instanceof BackendCallError) return error;
  return classifyStrongStoreError('Firestore', error, call);
}
