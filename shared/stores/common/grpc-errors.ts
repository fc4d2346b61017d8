import {BackendCallError} from '../../core/errors';
import {LockKind} from '../../core/kinds';

/** gRPC status codes the Google stores answer with (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcStatus = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export function grpcCode(error: unknown): number | undefined {
  const code = (error as {code?: unknown} | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Maps a failed call to a STRONG store (Datastore, Firestore: the same gRPC codes) to what the
 * retry layer needs to know. ABORTED is contention (an optimistic conflict, or Firestore's lock
 * timeout): nothing was applied. Unavailability and deadlines leave a write's outcome unknown.
 */
export function classifyStrongStoreError(
  store: string,
  error: unknown,
  call: {write: boolean; what: string},
): BackendCallError {
  const message = `${store} ${call.what} failed: ${(error as Error)?.message ?? String(error)}`;
  const options = {kind: LockKind.STRONG, cause: error};
  switch (grpcCode(error)) {
    case GrpcStatus.ABORTED:
      return new BackendCallError(
        message,
        {retryable: true, mayHaveApplied: false, contention: true},
        options,
      );
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new BackendCallError(
        message,
        {retryable: true, mayHaveApplied: false, contention: false},
        options,
      );
    case GrpcStatus.CANCELLED:
    case GrpcStatus.UNKNOWN:
    case GrpcStatus.DEADLINE_EXCEEDED:
    case GrpcStatus.INTERNAL:
    case GrpcStatus.UNAVAILABLE:
      return new BackendCallError(
        message,
        {retryable: true, mayHaveApplied: call.write, contention: false},
        options,
      );
    default:
      return new BackendCallError(
        message,
        {retryable: false, mayHaveApplied: false, contention: false},
        options,
      );
  }
}
