import {Firestore} from '@google-cloud/firestore';
import {
  ACCOUNT_KIND,
  APPLIED_EVENT_KIND,
  DUPLICATE_KIND,
  type AccountLedger,
} from './ledger';

/**
 * The ledger as documents in the native-mode database of the locks, one collection per Datastore
 * kind. Account names and event ids come from messages: escaped, since a document id may not
 * contain "/" (nor be "." or "..").
 */
export function firestoreLedger(databaseId: string | undefined): AccountLedger {
  const db = new Firestore(databaseId === undefined ? {} : {databaseId});
  const doc = (collection: string, id: string) =>
    db.collection(collection).doc(documentId(id));
  return {
    async isApplied(eventId) {
      return (await doc(APPLIED_EVENT_KIND, eventId).get()).exists;
    },
    async recordDuplicate(eventId) {
      await db.collection(DUPLICATE_KIND).add({eventId, at: new Date()});
    },
    async balance(account) {
      return Number(
        (await doc(ACCOUNT_KIND, account).get()).get('balance') ?? 0,
      );
    },
    async apply({account, amount, eventId}, balance) {
      // `create` fails with ALREADY_EXISTS for an event recorded meanwhile, and takes the balance down with it.
      await db
        .batch()
        .set(doc(ACCOUNT_KIND, account), {balance})
        .create(doc(APPLIED_EVENT_KIND, eventId), {
          account,
          amount,
          appliedAt: new Date(),
        })
        .commit();
    },
  };
}

/** Also used by tests to find an account's document. */
export function documentId(id: string): string {
  const escaped = encodeURIComponent(id);
  // Firestore reserves ".", ".." and ids like __name__: escaping the first character keeps ids distinct.
  return /^(\.{1,2}|__.*__)$/.test(escaped)
    ? `%${escaped.charCodeAt(0).toString(16).toUpperCase()}${escaped.slice(1)}`
    : escaped;
}
