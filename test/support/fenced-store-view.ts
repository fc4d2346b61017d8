import type {Datastore} from '@google-cloud/datastore';
import type {Firestore} from '@google-cloud/firestore';
import {
  FENCE_PROPERTY,
  ONCE_KEY_KIND,
  type EntityPath,
  type LockingConfig,
} from '../../shared';
import {onceRecordName} from '../../shared/core/fenced-data';
import {documentId} from '../../shared/stores/firestore/document-id';
import type {StrongTarget} from './strong-targets';
import {firestoreNativeClient} from './firestore-native-target';

/**
 * A fenced-write test's view of one STRONG store, below the library: the data as a plain reader
 * sees it (the fence as `fence`, a string), a plain save and delete by a writer that ignores the
 * fence, and whether a once-key record is still stored.
 */
export interface FencedStoreView {
  /** The library's configuration for this store, in `namespace`. */
  readonly config: LockingConfig;
  read(path: EntityPath): Promise<Record<string, unknown> | undefined>;
  plainSave(path: EntityPath, data: Record<string, unknown>): Promise<void>;
  plainDelete(path: EntityPath): Promise<void>;
  onceRecordStored(path: EntityPath, onceKey: string): Promise<boolean>;
}

export function fencedStoreView(
  target: StrongTarget,
  namespace: string,
): FencedStoreView {
  return target.datastore
    ? datastoreView(target.datastore.client(namespace), namespace)
    : firestoreView(firestoreNativeClient(), namespace);
}

function datastoreView(
  datastore: Datastore,
  namespace: string,
): FencedStoreView {
  const key = (path: EntityPath) => datastore.key([...path]);
  return {
    config: {datastore},
    async read(path) {
      const [entity] = await datastore.get(key(path), {wrapNumbers: true});
      return entity
        ? plainEntity(entity as Record<string, unknown>)
        : undefined;
    },
    async plainSave(path, data) {
      await datastore.save({key: key(path), data});
    },
    async plainDelete(path) {
      await datastore.delete(key(path));
    },
    async onceRecordStored(path, onceKey) {
      const identity = JSON.stringify(
        Array.from({length: path.length / 2}, (_, i) => [
          path[2 * i],
          path[2 * i + 1],
        ]),
      );
      const [found] = await datastore.get(
        datastore.key({
          namespace,
          path: [ONCE_KEY_KIND, onceRecordName(identity, onceKey)],
        }),
      );
      return found !== undefined;
    },
  };
}

function firestoreView(
  firestore: Firestore,
  namespace: string,
): FencedStoreView {
  const doc = (path: EntityPath) =>
    firestore.doc(
      `namespaces/${namespace}/${path.map((part, i) => (i % 2 ? documentId(part) : part)).join('/')}`,
    );
  return {
    config: {firestore, namespace},
    async read(path) {
      const snapshot = await doc(path).get();
      if (!snapshot.exists) return undefined;
      const {[FENCE_PROPERTY]: fence, ...data} = snapshot.data() ?? {};
      return fence === undefined ? data : {...data, fence: String(fence)};
    },
    async plainSave(path, data) {
      await doc(path).set(data);
    },
    async plainDelete(path) {
      await doc(path).delete();
    },
    async onceRecordStored(path, onceKey) {
      const snapshot = await firestore
        .collection(ONCE_KEY_KIND)
        .doc(onceRecordName(doc(path).path, onceKey))
        .get();
      return snapshot.exists;
    },
  };
}

/** An entity read with `wrapNumbers: true` as plain data: integers as numbers, the fence as `fence`, a string (it can exceed Number.MAX_SAFE_INTEGER). */
export function plainEntity(
  entity: Record<string, unknown>,
): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [property, value] of Object.entries(entity)) {
    const wrapped = value as {value?: unknown} | null;
    const integer =
      wrapped !== null &&
      typeof wrapped === 'object' &&
      typeof wrapped.value === 'string'
        ? wrapped.value
        : undefined;
    if (property === FENCE_PROPERTY) plain.fence = integer;
    else plain[property] = integer === undefined ? value : Number(integer);
  }
  return plain;
}
