import type {WriteBatch} from '@google-cloud/firestore';
import {BackendCallError} from '../../core/errors';
import {grpcCode, GrpcStatus} from '../common/grpc-errors';
import {LockKind} from '../../core/kinds';
import type {FirestoreCalls, Written} from './firestore-calls';
import {classifyFirestoreError} from './firestore-errors';

/** A conditioned commit that did not apply: the lock was written since it was read. */
export const CONFLICT = Symbol('conflict');
export type Conflict = typeof CONFLICT;

/**
 * One commit whose lock write is conditioned on what was read (its update time, or its absence):
 * CONFLICT when the condition failed, and so nothing was written.
 */
export async function commitConditioned(
  calls: FirestoreCalls,
  what: string,
  write: (batch: WriteBatch) => unknown,
): Promise<Written | Conflict> {
  try {
    return await calls.commit(what, write);
  } catch (error) {
    // A lastUpdateTime that no longer holds (or a document gone since): FAILED_PRECONDITION, or NOT_FOUND for an update.
    const code = grpcCode(error);
    if (
      code === GrpcStatus.FAILED_PRECONDITION ||
      code === GrpcStatus.NOT_FOUND ||
      code === GrpcStatus.ALREADY_EXISTS
    )
      return CONFLICT;
    throw classifyFirestoreError(error, {write: true, what});
  }
}

/** Read-then-commit attempts before a busy lock is left to the caller's retries. */
const ATTEMPTS = 3;

/**
 * Runs `attempt` (a read, then one conditioned commit) again on a fresh read while another write
 * of the lock came between, as renew does; after ATTEMPTS, a retryable contention error.
 */
export async function onFreshReads<T>(
  what: string,
  attempt: () => Promise<T | Conflict>,
): Promise<T> {
  for (let tried = 0; tried < ATTEMPTS; tried++) {
    const outcome = await attempt();
    if (outcome !== CONFLICT) return outcome;
  }
  throw new BackendCallError(
    `Firestore ${what}: the lock kept changing between a read and its commit`,
    {retryable: true, mayHaveApplied: false, contention: true},
    {kind: LockKind.STRONG},
  );
}
