import {createHash} from 'node:crypto';

/** SHA-256 of the identifier, hex: also the lock's Datastore key name and Firestore document id. */
export function identifierHashOf(identifier: string): string {
  return createHash('sha256').update(identifier, 'utf8').digest('hex');
}
