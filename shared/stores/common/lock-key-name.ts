import {createHash} from 'node:crypto';

/**
 * The name a STRONG store keys a lock under: the SHA-256 of its identifier, so any identifier up to
 * 1,500 bytes fits a key name (Datastore) or a document id (Firestore), and keys spread evenly.
 * One rule for both stores, so a lock moved between them keeps its name.
 */
export function lockKeyName(identifier: string): string {
  return createHash('sha256').update(identifier, 'utf8').digest('hex');
}
