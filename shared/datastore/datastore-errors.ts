import type {BackendCallError} from '../errors';
import {classifyStrongStoreError} from '../grpc-errors';

export {grpcCode, GrpcStatus} from '../grpc-errors';

/** Maps a failed Datastore call to what the retry layer needs to know (see classifyStrongStoreError). */
export function classifyDatastoreError(
  error: unknown,
  call: {write: boolean; what: string},
): BackendCallError {
  return classifyStrongStoreError('Datastore', error, call);
}
