/**
 * cloud-functions-locking/firestore: STRONG locks on Firestore in native mode, and fenced writes
 * of your own documents. A project using it installs `@google-cloud/firestore`; it loads on the
 * first call.
 */
import type {DocumentReference, Firestore} from '@google-cloud/firestore';
import type {
  EntityUpdate,
  FencedWriteOptions,
  FencedWriteResult,
} from '../../core/fenced-data';
import {defaultLocking} from '../../locking';

/**
 * Firestore native mode's `fencedUpdate`: writes the document `ref` with what `update` makes of
 * its current data (`undefined` when it does not exist or was deleted by a fenced delete), only
 * if `fence` is at least the highest fence that ever wrote it, and records `fence` as that highest
 * (in the document, FENCE_PROPERTY, and in its fence record, which a delete or a plain `set` of
 * the document leaves in place). A lower fence rejects LockError `STALE_FENCE` and nothing is
 * written. With `onceKey`, a second write of the same document with it applies nothing and
 * resolves `{applied: false, reason: 'duplicate'}`. The same write as a held lock's
 * `held.fencedUpdate(path, ...)` on a Firestore store.
 */
export type FencedUpdateDocument = (
  ref: DocumentReference,
  /** `held.fence` of a STRONG lock (a WEAK lock's `undefined` is refused). */
  fence: bigint | undefined,
  update: EntityUpdate,
  options?: FencedWriteOptions,
) => Promise<FencedWriteResult>;

declare module '../../configuration/locking-config' {
  interface LockingConfig {
    /**
     * STRONG locks' client on Firestore in native mode, such as `new Firestore()` (which reads
     * GOOGLE_CLOUD_PROJECT, FIRESTORE_EMULATOR_HOST, ...). Giving one selects that store.
     */
    firestore?: Firestore | undefined;
  }
}

declare module '../../locking' {
  interface Locking {
    /** `fencedUpdateDocument` with this instance's store-call deadline and retry policy. */
    readonly fencedUpdateDocument: FencedUpdateDocument;
  }
}

/** See FencedUpdateDocument. */
export const fencedUpdateDocument: FencedUpdateDocument =
  defaultLocking.fencedUpdateDocument;
export {createFirestoreBackend} from './create-firestore-backend';
export type {FirestoreBackendOptions} from './create-firestore-backend';
