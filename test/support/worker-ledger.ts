import type {Datastore} from '@google-cloud/datastore';
import {ACCOUNT_KIND} from '../../functions/example-worker';
import {ONCE_KEY_KIND, onceRecordName} from '../../shared/core/fenced-data';
import {documentId} from '../../shared/stores/firestore/document-id';
import type {StrongTarget} from './strong-targets';

/** Where the example worker must be pointed to keep its locks and its ledger on `target`'s store. */
export function workerStoreEnv(target: StrongTarget): Record<string, string> {
  return target.store === 'firestore'
    ? {LOCKS_STRONG_STORE: 'firestore', FIRESTORE_EMULATOR_HOST: target.host()}
    : {LOCKS_STRONG_STORE: 'datastore', DATASTORE_EMULATOR_HOST: target.host()};
}

export interface LedgerReader {
  /** The account's stored balance, read plainly from the store; undefined while it has none. */
  balance(account: string): Promise<number | undefined>;
  close(): Promise<void>;
}

/** Reads the example worker's ledger on `target`'s store with a client of its own. */
export function ledgerReader(target: StrongTarget): LedgerReader {
  const {firestore, datastore} = target.config();
  const plain = (value: unknown) =>
    value === undefined || value === null ? undefined : Number(value);
  if (firestore)
    return {
      balance: async account =>
        plain(
          (
            await firestore
              .collection(ACCOUNT_KIND)
              .doc(documentId(account))
              .get()
          ).get('balance'),
        ),
      close: () => firestore.terminate(),
    };
  if (!datastore) throw new Error(`${target.name}: no client`);
  return {
    balance: async account => {
      const [entity] = (await datastore.get(
        datastore.key([ACCOUNT_KIND, account]),
      )) as [{balance?: unknown} | undefined];
      return plain(entity?.balance);
    },
    close: async () => undefined,
  };
}

/**
 * Which of `eventIds` the example worker applied to `account` on a Datastore store: the once-key
 * records the fenced write keeps beside the balance (the library's LockOnceKey kind, named by a
 * hash of the path, spelled as the library spells a named path, and the once-key).
 */
export async function appliedEventIds(
  datastore: Datastore,
  account: string,
  eventIds: readonly string[],
): Promise<Set<string>> {
  const identity = JSON.stringify([[ACCOUNT_KIND, account]]);
  const names = new Map(
    eventIds.map(id => [onceRecordName(identity, id), id] as const),
  );
  const [found] = (await datastore.get(
    [...names.keys()].map(name => datastore.key([ONCE_KEY_KIND, name])),
  )) as [{[key: symbol]: {name?: string}}[]];
  return new Set(
    found.flatMap(entity => {
      const id = names.get(String(entity[datastore.KEY]?.name));
      return id === undefined ? [] : [id];
    }),
  );
}
