import type {Datastore} from '@google-cloud/datastore';
import type {Firestore} from '@google-cloud/firestore';
import {ACCOUNT_KIND} from '../../functions/example-worker';
import {ONCE_KEY_KIND, onceRecordName} from '../../shared/core/fenced-data';
import {documentId} from '../../shared/stores/firestore/document-id';
import {appliedEventIds} from './worker-ledger';

/** What the ordered worker (worker-ordered.ts) keeps on an account. */
export interface OrderedAccount {
  readonly balance: number;
  /** Event ids in the order their fenced writes committed. */
  readonly applied: readonly string[];
}

/**
 * Reads the ordered worker's accounts, and which events were applied by their once-key records
 * (the fenced write's own proof, as worker-ledger.ts reads it), on either STRONG store.
 */
export interface AppliedLedger {
  account(account: string): Promise<OrderedAccount | undefined>;
  onceKeys(account: string, eventIds: readonly string[]): Promise<Set<string>>;
  /** Closes the client it was given. */
  close(): Promise<void>;
}

export function appliedLedger(clients: {
  datastore?: Datastore | undefined;
  firestore?: Firestore | undefined;
}): AppliedLedger {
  const {datastore, firestore} = clients;
  const ordered = (data: Record<string, unknown> | undefined) =>
    data === undefined
      ? undefined
      : {
          balance: Number(data.balance ?? 0),
          applied: ((data.applied as string[] | undefined | null) ?? []).map(
            String,
          ),
        };
  if (firestore)
    return {
      account: async account =>
        ordered(
          (
            await firestore
              .collection(ACCOUNT_KIND)
              .doc(documentId(account))
              .get()
          ).data(),
        ),
      onceKeys: async (account, eventIds) => {
        // The Firestore fenced write names a once-key by the document's path (see firestore/fenced-write.ts).
        const identity = firestore
          .collection(ACCOUNT_KIND)
          .doc(documentId(account)).path;
        const names = new Map(
          eventIds.map(id => [onceRecordName(identity, id), id] as const),
        );
        const found = new Set<string>();
        const refs = [...names.keys()].map(name =>
          firestore.collection(ONCE_KEY_KIND).doc(name),
        );
        for (let start = 0; start < refs.length; start += 300)
          for (const snapshot of await firestore.getAll(
            ...refs.slice(start, start + 300),
          ))
            if (snapshot.exists) found.add(names.get(snapshot.id) as string);
        return found;
      },
      close: () => firestore.terminate(),
    };
  if (!datastore) throw new Error('appliedLedger: no client');
  return {
    account: async account => {
      const [entity] = (await datastore.get(
        datastore.key([ACCOUNT_KIND, account]),
      )) as [Record<string, unknown> | undefined];
      return ordered(entity);
    },
    onceKeys: async (account, eventIds) => {
      const found = new Set<string>();
      for (let start = 0; start < eventIds.length; start += 500)
        for (const id of await appliedEventIds(
          datastore,
          account,
          eventIds.slice(start, start + 500),
        ))
          found.add(id);
      return found;
    },
    close: async () => {
      await (datastore as {close?: () => Promise<void>}).close?.();
    },
  };
}
