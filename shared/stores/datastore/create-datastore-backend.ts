import type {Datastore} from '@google-cloud/datastore';
import type {LockBackend} from '../../core/backend';
import {resolveLockingConfig} from '../../configuration/resolve-config';

export interface DatastoreBackendOptions {
  /** Namespace of lock entities. Default: the client's namespace, else the default one. */
  namespace?: string | undefined;
  /** Entity kind of lock entities. Default: `DatastoreLock` (djangae's name). */
  entityKind?: string | undefined;
  /** The Datastore-mode database of the client built when none is given. Default: the project's default database. */
  databaseId?: string | undefined;
  /** Deadline of each store call. Default: 5,000 ms. */
  rpcTimeoutMs?: number | undefined;
}

/**
 * STRONG locks on Cloud Datastore or Firestore in Datastore mode, for `createLocking({strong})`.
 * Without a client, builds `new Datastore()` (which reads GOOGLE_CLOUD_PROJECT,
 * DATASTORE_EMULATOR_HOST, ...). Resolves once the adapter is loaded: importing the library loads
 * no Google client.
 */
export async function createDatastoreBackend(
  datastore?: Datastore,
  options: DatastoreBackendOptions = {},
): Promise<LockBackend> {
  const config = resolveLockingConfig({
    strongStore: 'datastore',
    datastore,
    namespace: options.namespace,
    entityKind: options.entityKind,
    databaseId: options.databaseId,
    rpcTimeoutMs: options.rpcTimeoutMs,
  });
  const [{DatastoreRpc}, {DatastoreLockBackend}] = await Promise.all([
    import('./datastore-rpc'),
    import('./datastore-backend'),
  ]);
  const client =
    datastore ??
    new (await import('@google-cloud/datastore')).Datastore(
      config.databaseId === undefined ? {} : {databaseId: config.databaseId},
    );
  return new DatastoreLockBackend(
    new DatastoreRpc(client, config.rpcTimeoutMs),
    {
      entityKind: config.entityKind,
      namespace: config.namespace ?? client.namespace,
    },
  );
}
