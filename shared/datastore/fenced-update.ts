import type {Datastore, Key} from '@google-cloud/datastore';
import {retrying} from '../attempts';
import {currentRuntime} from '../config';
import type {RuntimeSource} from '../runtime';
import {classifyDatastoreError} from './datastore-errors';
import type {
  DatastoreRpc,
  EntityProto,
  KeyProto,
  TransactionId,
} from './datastore-rpc';
import {BackendCallError, LockError} from '../errors';

/**
 * The property in which fencedUpdate keeps the highest fence that ever wrote an entity: an
 * unindexed integer beside the caller's data. fencedUpdate owns it; `update` never sees it.
 */
export const FENCE_PROPERTY = 'lockFence';

export type EntityData = Record<string, unknown>;

export interface FencedUpdateOptions {
  /** Properties of the data `update` returns to keep out of indexes (long strings, big arrays). */
  readonly excludeFromIndexes?: readonly string[];
}

/**
 * Writes the entity at `key` with what `update` makes of its current data (`undefined` when it
 * does not exist), in one transaction, only if `fence` is at least the highest fence that ever
 * wrote it; records `fence` as that highest. A lower fence is refused with LockError
 * `STALE_FENCE` and nothing is written: the writer is a holder whose lock was taken over since
 * (paused or partitioned past its lease), and its write would overwrite its successor's. An equal
 * fence is the same grant writing again. Resolves the data written.
 *
 * Contention (another transaction on the entity) is retried with the configured retry policy.
 * A commit whose outcome is unknown (deadline, unavailable) is not: it may have applied, and only
 * the caller knows whether `update` can be applied twice. It rejects `BACKEND_UNAVAILABLE`.
 */
export function fencedUpdate(
  datastore: Datastore,
  key: Key,
  /** `held.fence` of a STRONG lock. (Typed to accept `Lock['fence']` as `run()` passes it; a WEAK lock's `undefined` is refused.) */
  fence: bigint | undefined,
  update: (current: EntityData | undefined) => EntityData | Promise<EntityData>,
  options: FencedUpdateOptions = {},
): Promise<EntityData> {
  return fencedUpdateIn(currentRuntime, datastore, key, fence, update, options);
}

/** `fencedUpdate` with the store-call deadline and retry policy of the runtime `runtimeOf` gives. */
export async function fencedUpdateIn(
  runtimeOf: RuntimeSource,
  datastore: Datastore,
  key: Key,
  fence: bigint | undefined,
  update: (current: EntityData | undefined) => EntityData | Promise<EntityData>,
  options: FencedUpdateOptions = {},
): Promise<EntityData> {
  if (!validFence(fence))
    throw new LockError(
      'INVALID_ARGUMENT',
      `fencedUpdate needs a STRONG lock's fence (a non-negative bigint; WEAK locks have none), got ${typeof fence === 'bigint' ? String(fence) : typeof fence}`,
    );
  validate(datastore, key, update);
  const {config} = runtimeOf();
  const [{DatastoreRpc}, {entity}] = await Promise.all([
    import('./datastore-rpc'),
    import('@google-cloud/datastore/build/src/entity'),
  ]);
  const rpc = new DatastoreRpc(datastore, config.rpcTimeoutMs);
  const keyProto: KeyProto = {
    ...entity.keyToKeyProto(key),
    partitionId: await partitionOf(rpc, key.namespace ?? datastore.namespace),
  };
  const codec: EntityCodec = {
    decode: proto =>
      entity.entityFromEntityProto(
        proto as Parameters<typeof entity.entityFromEntityProto>[0],
      ) as EntityData,
    encode: data =>
      entity.entityToEntityProto({
        data,
        excludeFromIndexes: [...(options.excludeFromIndexes ?? [])],
      }) as EntityProto,
  };
  // Only what certainly did not apply is tried again.
  return retrying(
    config.retry,
    () => updateOnce(rpc, keyProto, fence, update, codec),
    error =>
      error instanceof BackendCallError &&
      error.retryable &&
      !error.mayHaveApplied,
  );
}

interface EntityCodec {
  decode(proto: EntityProto): EntityData;
  encode(data: EntityData): EntityProto;
}

async function updateOnce(
  rpc: DatastoreRpc,
  key: KeyProto,
  fence: bigint,
  update: (current: EntityData | undefined) => EntityData | Promise<EntityData>,
  codec: EntityCodec,
): Promise<EntityData> {
  let transaction: TransactionId;
  try {
    transaction = await rpc.beginTransaction();
  } catch (error) {
    throw classifyDatastoreError(error, {
      write: false,
      what: 'fenced update (begin transaction)',
    });
  }
  let committing = false;
  try {
    let found;
    try {
      found = await rpc.lookup(key, transaction);
    } catch (error) {
      throw classifyDatastoreError(error, {
        write: false,
        what: 'fenced update (lookup)',
      });
    }
    const stored = storedFenceOf(found?.entity);
    if (stored !== undefined && fence < stored) {
      throw new LockError(
        'STALE_FENCE',
        `refused a write with fence ${fence}: the entity was already written with fence ${stored}, so a later holder of the lock has written it`,
      );
    }
    let current: EntityData | undefined;
    if (found) {
      // Decoded without the fence, which can exceed Number.MAX_SAFE_INTEGER and is not the caller's data.
      const {[FENCE_PROPERTY]: _fence, ...properties} =
        found.entity.properties ?? {};
      current = codec.decode({...found.entity, properties});
    }
    const data = await update(current);
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new LockError(
        'INVALID_ARGUMENT',
        `fencedUpdate's update must return an object of properties, got ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`,
      );
    }
    if (FENCE_PROPERTY in data) {
      throw new LockError(
        'INVALID_ARGUMENT',
        `fencedUpdate's update returned the property ${FENCE_PROPERTY}, which fencedUpdate keeps itself`,
      );
    }
    const proto = codec.encode(data);
    const highest = stored !== undefined && stored > fence ? stored : fence;
    proto.key = key;
    proto.properties = {
      ...proto.properties,
      [FENCE_PROPERTY]: {
        integerValue: highest.toString(),
        excludeFromIndexes: true,
      },
    };
    committing = true;
    try {
      await rpc.commit(transaction, [{upsert: proto}]);
    } catch (error) {
      throw classifyDatastoreError(error, {
        write: true,
        what: 'fenced update (commit)',
      });
    }
    return data;
  } finally {
    if (!committing) await rpc.rollback(transaction).catch(() => undefined);
  }
}

function storedFenceOf(entity: EntityProto | undefined): bigint | undefined {
  const value = entity?.properties?.[FENCE_PROPERTY]?.integerValue;
  return value === undefined || value === null
    ? undefined
    : BigInt(String(value));
}

async function partitionOf(
  rpc: DatastoreRpc,
  namespace: string | undefined,
): Promise<NonNullable<KeyProto['partitionId']>> {
  try {
    return await rpc.partition(namespace);
  } catch (error) {
    throw classifyDatastoreError(error, {write: false, what: 'project lookup'});
  }
}

function validFence(fence: unknown): fence is bigint {
  return typeof fence === 'bigint' && fence >= 0n;
}

function validate(datastore: unknown, key: Key, update: unknown): void {
  if (
    datastore === null ||
    typeof datastore !== 'object' ||
    typeof (datastore as Datastore).key !== 'function'
  ) {
    throw new LockError(
      'INVALID_ARGUMENT',
      'fencedUpdate needs a Datastore client as its first argument',
    );
  }
  if (
    key === null ||
    typeof key !== 'object' ||
    !Array.isArray((key as Key).path) ||
    ((key as Key).name === undefined && (key as Key).id === undefined)
  ) {
    throw new LockError(
      'INVALID_ARGUMENT',
      'fencedUpdate needs a complete Datastore key (with a name or an id)',
    );
  }
  if (typeof update !== 'function') {
    throw new LockError(
      'INVALID_ARGUMENT',
      'fencedUpdate needs an update function',
    );
  }
}
