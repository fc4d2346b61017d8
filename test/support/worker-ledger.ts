import {ACCOUNT_KIND} from '../../functions/example-worker';
import {documentId} from '../../shared/firestore/document-id';
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
