import type {DocumentSnapshot} from '@google-cloud/firestore';
import type {LockRecord} from '../../core/backend';
import {sinceLastSignMs, takeoverOf} from '../../core/taking-rules';
import {isVacant} from '../../waiting-room/state';
import {storeTimesOf} from './lock-document';

/**
 * Whether anyone may take the lock as `found` shows it, on the store's clock: a vacant lock (no
 * holder), or a lease that ended (a holder's, or a hand-off's whose wake-up never claimed it).
 * A lease-less lock is only ever stolen by a taker that asks to (see taking-rules.ts): never here.
 */
export function takeableByAnyone(
  found: DocumentSnapshot,
  lock: LockRecord,
): boolean {
  return (
    isVacant(lock) ||
    takeoverOf(lock, sinceLastSignMs(storeTimesOf(found), lock), undefined) !==
      null
  );
}
