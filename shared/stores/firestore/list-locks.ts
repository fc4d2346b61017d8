import type {
  CollectionReference,
  DocumentSnapshot,
} from '@google-cloud/firestore';
import type {ListQuery, LockRecord} from '../../core/backend';
import {collectListing, LISTING_PAGE} from '../common/listing';
import type {FirestoreCalls} from './firestore-calls';
import {classifyFirestoreError} from './firestore-errors';
import {isVacant} from '../../waiting-room/state';
import {decodeLock} from './lock-document';

/** The STRONG locks held now in one collection, oldest grant first (see listing.ts); a vacant lock has no holder. */
export function listFirestoreLocks(
  calls: FirestoreCalls,
  collection: CollectionReference,
  query: ListQuery,
): Promise<LockRecord[]> {
  return collectListing(pages(calls, collection), query);
}

async function* pages(
  calls: FirestoreCalls,
  collection: CollectionReference,
): AsyncIterable<LockRecord[]> {
  let after: DocumentSnapshot | undefined;
  for (;;) {
    const query = collection.orderBy('acquiredAt').limit(LISTING_PAGE);
    let page;
    try {
      page = await calls.query(after ? query.startAfter(after) : query);
    } catch (error) {
      throw classifyFirestoreError(error, {write: false, what: 'list (query)'});
    }
    yield page.docs.flatMap(found => {
      const lock = decodeLock(found);
      return lock && !isVacant(lock) ? [lock] : [];
    });
    if (page.size < LISTING_PAGE) return;
    after = page.docs[page.docs.length - 1];
  }
}
