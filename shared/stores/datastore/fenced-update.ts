import type {Datastore, Key} from '@google-cloud/datastore';
import type {RuntimeSource} from '../../configuration/runtime';
import {LockError} from '../../core/errors';
import {
  checkKindWritable,
  type EntityData,
  type EntityUpdate,
} from '../../core/fenced-data';
import {fencedWriteWithRetries} from '../../core/fenced-write';
import {classifyDatastoreError} from './datastore-errors';
import type {DatastoreRpc, KeyProto} from './datastore-rpc';

export {FENCE_PROPERTY} from '../../core/fenced-data';
export type {EntityData} from '../../core/fenced-data';

export interface FencedUpdateOptions {
  /** Properties of the data `update` returns to keep out of indexes (long strings, big arrays). */
  readonly excludeFromIndexes?: readonly string[];
}

/**
 * `fencedUpdate` with the store-call deadline and retry policy of the runtime `runtimeOf` gives.
 * @internal
 */
export async function fencedUpdateIn(
  runtimeOf: RuntimeSource,
  datastore: Datastore,
  key: Key,
  fence: bigint | undefined,
  update: EntityUpdate,
  options: FencedUpdateOptions = {},
): Promise<EntityData> {
  if (!validFence(fence))
    throw new LockError(
      'INVALID_ARGUMENT',
      `fencedUpdate needs a STRONG lock's fence (a non-negative bigint; WEAK locks have none), got ${typeof fence === 'bigint' ? String(fence) : typeof fence}`,
    );
  validate(datastore, key, update);
  const {config} = runtimeOf();
  const [{DatastoreRpc}, {DatastoreFencedWriter}, {entity}] = await Promise.all(
    [
      import('./datastore-rpc'),
      import('./fenced-write'),
      import('@google-cloud/datastore/build/src/entity'),
    ],
  );
  const rpc = new DatastoreRpc(datastore, config.rpcTimeoutMs);
  const keyProto: KeyProto = {
    ...entity.keyToKeyProto(key),
    partitionId: await partitionOf(rpc, key.namespace ?? datastore.namespace),
  };
  for (const element of keyProto.path ?? [])
    checkKindWritable(element.kind ?? '');
  const writer = new DatastoreFencedWriter(rpc);
  const result = await fencedWriteWithRetries(
    config.retry,
    config.onceKeyRetentionMs,
    request => writer.write(keyProto, request),
    fence,
    update,
    {
      ...(options.excludeFromIndexes === undefined
        ? {}
        : {excludeFromIndexes: options.excludeFromIndexes}),
    },
  );
  // Without a once-key a write is never a duplicate.
  return result.applied ? (result.data as EntityData) : {};
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
