import {classifyDatastoreError} from './datastore-errors';
import type {
  DatastoreRpc,
  FoundEntity,
  KeyProto,
  MutationProto,
  TransactionId,
} from './datastore-rpc';

/** What a transaction body decides: an outcome without writing, or mutations to commit. */
export type TransactionStep<T> =
  | {readonly outcome: T}
  | {
      readonly mutations: MutationProto[];
      readonly onCommit: (versions: bigint[]) => T;
    };

/**
 * Runs `body` in a read-write transaction begun explicitly, commits the mutations it asks for,
 * and always ends the transaction: Firestore in Datastore mode holds read locks until commit or
 * rollback, so an abandoned transaction would stall every other writer of the lock. Failures are
 * classified (ABORTED, the legacy emulator's conflict and Firestore mode's lock timeout, is
 * retryable contention).
 */
export async function inTransaction<T>(
  rpc: DatastoreRpc,
  what: string,
  body: (transaction: TransactionId) => Promise<TransactionStep<T>>,
): Promise<T> {
  let transaction: TransactionId;
  try {
    transaction = await rpc.beginTransaction();
  } catch (error) {
    throw classifyDatastoreError(error, {
      write: false,
      what: `${what} (begin transaction)`,
    });
  }
  let committing = false;
  try {
    const step = await body(transaction);
    if ('outcome' in step) return step.outcome;
    committing = true;
    try {
      return step.onCommit(
        (await rpc.commit(transaction, step.mutations)).map(
          result => result.version,
        ),
      );
    } catch (error) {
      throw classifyDatastoreError(error, {
        write: true,
        what: `${what} (commit)`,
      });
    }
  } finally {
    if (!committing) await rpc.rollback(transaction).catch(() => undefined);
  }
}

/** The entities found among `keys` (in no particular order), failures classified. */
export async function lookupAll(
  rpc: DatastoreRpc,
  keys: KeyProto[],
  transaction?: TransactionId,
): Promise<FoundEntity[]> {
  try {
    return await rpc.lookupAll(keys, transaction);
  } catch (error) {
    throw classifyDatastoreError(error, {write: false, what: 'lookup'});
  }
}

/** The one entity at `key`, or null. */
export async function lookupOne(
  rpc: DatastoreRpc,
  key: KeyProto,
  transaction?: TransactionId,
): Promise<FoundEntity | null> {
  try {
    return await rpc.lookup(key, transaction);
  } catch (error) {
    throw classifyDatastoreError(error, {write: false, what: 'lookup'});
  }
}

/** Whether `found` is the entity at `key` (lookups answer in no particular order). */
export function isAt(found: FoundEntity, key: KeyProto): boolean {
  const a = found.entity.key?.path ?? [];
  const b = key.path ?? [];
  return (
    a.length === b.length &&
    a.every(
      (element, index) =>
        element.kind === b[index]?.kind &&
        (element.name ?? '') === (b[index]?.name ?? '') &&
        String(element.id ?? '') === String(b[index]?.id ?? ''),
    )
  );
}
