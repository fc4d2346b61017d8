import type {Firestore} from '@google-cloud/firestore';
import type {LockBackend} from '../../core/backend';
import {resolveLockingConfig} from '../../configuration/resolve-config';

export interface FirestoreBackendOptions {
  /** Locks go under `namespaces/{namespace}/` when given. Default: at the root. */
  namespace?: string | undefined;
  /** The locks' collection. Default: `DatastoreLock`. */
  entityKind?: string | undefined;
  /** The native-mode database of the client built when none is given. Default: the project's default database. */
  databaseId?: string | undefined;
  /** Deadline of each store call. Default: 5,000 ms. */
  rpcTimeoutMs?: number | undefined;
}

/**
 * STRONG locks on Firestore in native mode, for `createLocking({strong})`. Without a client, builds
 * `new Firestore()` (which reads GOOGLE_CLOUD_PROJECT, FIRESTORE_EMULATOR_HOST, ...). Resolves once
 * the adapter is loaded: a process that takes no STRONG lock never loads Firestore.
 */
export async function createFirestoreBackend(
  firestore?: Firestore,
  options: FirestoreBackendOptions = {},
): Promise<LockBackend> {
  const config = resolveLockingConfig({
    strongStore: 'firestore',
    firestore,
    namespace: options.namespace,
    entityKind: options.entityKind,
    databaseId: options.databaseId,
    rpcTimeoutMs: options.rpcTimeoutMs,
  });
  const [{FirestoreCalls}, {FirestoreLockBackend}, firestoreModule] =
    await Promise.all([
      import('./firestore-calls'),
      import('./firestore-backend'),
      import('@google-cloud/firestore'),
    ]);
  const client =
    firestore ??
    new firestoreModule.Firestore(
      config.databaseId === undefined ? {} : {databaseId: config.databaseId},
    );
  return new FirestoreLockBackend(
    new FirestoreCalls(client, config.rpcTimeoutMs),
    {
      collection: config.entityKind,
      namespace: config.namespace,
      deleteField: firestoreModule.FieldValue.delete(),
      timestamp: (seconds, nanoseconds) =>
        new firestoreModule.Timestamp(seconds, nanoseconds),
    },
  );
}
