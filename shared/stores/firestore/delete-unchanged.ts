import type {DocumentSnapshot, Timestamp} from '@google-cloud/firestore';
import type {FirestoreCalls} from './firestore-calls';
import {classifyFirestoreError, isFailedPrecondition} from './firestore-errors';

/**
 * Deletes a document found by a query only as it was found: `false` when it was written (or
 * deleted) since, which its update time tells. For clean-ups that judged what they found.
 */
export async function deleteUnchanged(
  calls: FirestoreCalls,
  found: DocumentSnapshot,
  what: string,
): Promise<boolean> {
  try {
    await calls.delete(found.ref, {
      lastUpdateTime: found.updateTime as Timestamp,
    });
    return true;
  } catch (error) {
    if (isFailedPrecondition(error)) return false;
    throw classifyFirestoreError(error, {write: true, what});
  }
}
