import type {BackendCallError} from '../../core/errors';
import {classifyStrongStoreError} from '../common/grpc-errors';

export {grpcCode, GrpcStatus} from '../common/grpc-errors';

/** Maps a failed Datastore call to what the retry layer needs to know (see classifyStrongStoreError). */
export function classifyDatastoreError(
  error: unknown,
  call: {write: boolean; what: string},
): BackendCallError {
  return classifyStrongStoreError('Datastore', error, call);
}
