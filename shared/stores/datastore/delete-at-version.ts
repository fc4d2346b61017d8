import {classifyDatastoreError, grpcCode, GrpcStatus} from './datastore-errors';
import type {DatastoreRpc, KeyProto, MutationOutcome} from './datastore-rpc';

/**
 * One non-transactional commit that deletes the lock only while it is still at `revision`: any
 * later write to it (a steal, a park, a cleanup and re-acquire) gave it a higher version. Only
 * where the store honours version preconditions (see precondition-probe.ts). Resolves whether it
 * deleted; `false` means "find out the careful way".
 */
export async function deleteAtVersion(
  rpc: DatastoreRpc,
  key: KeyProto,
  revision: string,
  what: string,
): Promise<boolean> {
  let result: MutationOutcome | undefined;
  try {
    [result] = await rpc.commit(undefined, [
      {delete: key, baseVersion: revision},
    ]);
  } catch (error) {
    // A version above any the store has (it lost its data: an emulator restarted) is refused
    // as INVALID_ARGUMENT; the careful way tells what the lock's state really is.
    if (grpcCode(error) !== GrpcStatus.INVALID_ARGUMENT)
      throw classifyDatastoreError(error, {write: true, what});
  }
  return result !== undefined && !result.conflict;
}
