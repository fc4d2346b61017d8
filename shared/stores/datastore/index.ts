/**
 * cloud-functions-locking/datastore: STRONG locks on Cloud Datastore or Firestore in Datastore
 * mode (the default store), and fenced writes of your own entities. A project using it installs
 * `@google-cloud/datastore`; it loads on the first call.
 */
import type {Datastore, Key} from '@google-cloud/datastore';
import type {EntityData, EntityUpdate} from '../../core/fenced-data';
import {defaultLocking} from '../../locking';
import type {FencedUpdateOptions} from './fenced-update';

/**
 * Writes the entity at `key` with what `update` makes of its current data (`undefined` when it
 * does not exist, or was deleted by a fenced delete), in one transaction, only if `fence` is at
 * least the highest fence that ever wrote it; records `fence` as that highest, in the entity
 * (FENCE_PROPERTY) and in the key's fence record, which a delete or a plain save of the entity
 * leaves in place. A lower fence is refused with LockError `STALE_FENCE` and nothing is written:
 * the writer is a holder whose lock was taken over since (paused or partitioned past its lease),
 * and its write would overwrite its successor's. An equal fence is the same grant writing again.
 * Resolves the data written. The same write as a held lock's `held.fencedUpdate(path, ...)`,
 * which also takes a once-key.
 *
 * Contention (another transaction on the entity) is retried with the configured retry policy.
 * A commit whose outcome is unknown (deadline, unavailable) is not: it may have applied, and only
 * the caller knows whether `update` can be applied twice. It rejects `BACKEND_UNAVAILABLE`.
 */
export type FencedUpdate = (
  datastore: Datastore,
  key: Key,
  /** `held.fence` of a STRONG lock. (Typed to accept `Lock['fence']` as `run()` passes it; a WEAK lock's `undefined` is refused.) */
  fence: bigint | undefined,
  update: EntityUpdate,
  options?: FencedUpdateOptions,
) => Promise<EntityData>;

declare module '../../configuration/locking-config' {
  interface LockingConfig {
    /** STRONG locks' client. Default: `new Datastore()`, which reads GOOGLE_CLOUD_PROJECT, DATASTORE_EMULATOR_HOST, ... */
    datastore?: Datastore | undefined;
  }
}

declare module '../../locking' {
  interface Locking {
    /** `fencedUpdate` with this instance's store-call deadline and retry policy. */
    readonly fencedUpdate: FencedUpdate;
  }
}

/** See FencedUpdate. */
export const fencedUpdate: FencedUpdate = defaultLocking.fencedUpdate;
export type {FencedUpdateOptions} from './fenced-update';
export {createDatastoreBackend} from './create-datastore-backend';
export type {DatastoreBackendOptions} from './create-datastore-backend';
