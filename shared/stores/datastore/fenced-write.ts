import {entity} from '@google-cloud/datastore/build/src/entity';
import type {FencedWriteOutcome, FencedWriteRequest} from '../../core/backend';
import {BackendCallError, LockError} from '../../core/errors';
import {
  checkedData,
  checkKindWritable,
  FENCE_PROPERTY,
  FENCE_RECORD_KIND,
  fenceRecordName,
  highestFence,
  ONCE_KEY_KIND,
  onceRecordName,
  staleFenceError,
  type EntityData,
} from '../../core/fenced-data';
import {classifyDatastoreError} from './datastore-errors';
import type {
  DatastoreRpc,
  EntityProto,
  FoundEntity,
  KeyProto,
  MutationProto,
} from './datastore-rpc';
import {dateOfTimestamp, timestampOfDate} from './timestamps';

/** A fenced write aimed at a Datastore key (the path already made a key in its partition). */
export type DatastoreFencedWrite = Omit<FencedWriteRequest, 'path'>;

/**
 * Fenced writes on Datastore, in one transaction each: the data entity, its path's fence record
 * (`LockFence`, the highest fence that ever wrote it, kept when the data is deleted or saved
 * without the fence) and the once-key record (`LockOnceKey`), all in the data's partition. A
 * transaction and not a version precondition: the Firestore-in-Datastore-mode emulator ignores
 * those (see GUIDE.md).
 */
export class DatastoreFencedWriter {
  constructor(private readonly rpc: DatastoreRpc) {}

  /** One attempt; the caller retries (see fenced-write.ts). */
  async write(
    key: KeyProto,
    request: DatastoreFencedWrite,
  ): Promise<FencedWriteOutcome> {
    const identity = pathIdentity(key);
    const fenceKey = recordKey(
      key,
      FENCE_RECORD_KIND,
      fenceRecordName(identity),
    );
    const onceKey =
      request.once &&
      recordKey(
        key,
        ONCE_KEY_KIND,
        onceRecordName(identity, request.once.onceKey),
      );
    const transaction = await this.call('begin transaction', false, () =>
      this.rpc.beginTransaction(),
    );
    let committing = false;
    try {
      const found = await this.call('lookup', false, () =>
        this.rpc.lookupAll(
          onceKey ? [key, fenceKey, onceKey] : [key, fenceKey],
          transaction,
        ),
      );
      const byKind = (kind: string) =>
        found.find(one => lastKind(one.entity.key) === kind);
      const once = byKind(ONCE_KEY_KIND);
      if (once && !expired(once, Date.now())) {
        return {
          applied: false,
          reason: 'duplicate',
          writeId: String(once.entity.properties?.writeId?.stringValue ?? ''),
        };
      }
      const record = byKind(FENCE_RECORD_KIND);
      const data = found.find(
        one =>
          one !== record &&
          one !== once &&
          lastKind(one.entity.key) === lastKind(key),
      );
      const stored = highestFence(
        integerOf(record?.entity, 'fence'),
        integerOf(data?.entity, FENCE_PROPERTY),
      );
      if (stored !== undefined && request.fence < stored)
        throw staleFenceError(request.fence, stored);
      const highest = highestFence(stored, request.fence) as bigint;

      let written: EntityData | undefined;
      const mutations: MutationProto[] = [];
      if (request.update) {
        written = checkedData(
          await request.update(data ? decodeData(data.entity) : undefined),
        );
        mutations.push({
          upsert: encodeData(key, written, highest, request.excludeFromIndexes),
        });
      } else {
        mutations.push({delete: key});
      }
      mutations.push({
        upsert: {
          key: fenceKey,
          properties: {
            fence: unindexed({integerValue: highest.toString()}),
            path: unindexed({stringValue: identity}),
          },
        },
      });
      if (onceKey && request.once) {
        mutations.push({
          upsert: {
            key: onceKey,
            properties: {
              onceKey: unindexed({stringValue: request.once.onceKey}),
              writeId: unindexed({stringValue: request.once.writeId}),
              path: unindexed({stringValue: identity}),
              // Indexed: cleanup finds expired records by it.
              expiresAt: {
                timestampValue: timestampOfDate(request.once.expiresAt),
              },
            },
          },
        });
      }
      committing = true;
      await this.call('commit', true, () =>
        this.rpc.commit(transaction, mutations),
      );
      return {applied: true, data: written};
    } finally {
      if (!committing)
        await this.rpc.rollback(transaction).catch(() => undefined);
    }
  }

  /**
   * Deletes the partition's once-key records that expired before `now`, each re-read in the
   * transaction that deletes it (one written again since stays). Pages of 25 records: the legacy
   * emulator's limit of entity groups in one transaction.
   */
  async removeExpiredOnceKeys(
    partitionId: NonNullable<KeyProto['partitionId']>,
    now: Date,
  ): Promise<number> {
    let removed = 0;
    let cursor: Uint8Array | string | undefined;
    for (;;) {
      const page = await this.call('once-key query', false, () =>
        this.rpc.keysBefore(
          partitionId,
          ONCE_KEY_KIND,
          'expiresAt',
          now,
          EXPIRED_PAGE,
          cursor,
        ),
      );
      for (let start = 0; start < page.keys.length; start += GROUPS) {
        try {
          removed += await this.removeIfExpired(
            page.keys.slice(start, start + GROUPS),
            now,
          );
        } catch (error) {
          // A write of the same once-key right now: leave it to that write.
          if (!(error instanceof BackendCallError && error.contention))
            throw error;
        }
      }
      if (!page.more || !page.endCursor || page.keys.length === 0) break;
      cursor = page.endCursor;
    }
    return removed;
  }

  private async removeIfExpired(keys: KeyProto[], now: Date): Promise<number> {
    const transaction = await this.call('begin transaction', false, () =>
      this.rpc.beginTransaction(),
    );
    let committing = false;
    try {
      const found = await this.call('lookup', false, () =>
        this.rpc.lookupAll(keys, transaction),
      );
      const gone = found.filter(one => expired(one, now.getTime()));
      if (gone.length === 0) return 0;
      committing = true;
      await this.call('once-key delete', true, () =>
        this.rpc.commit(
          transaction,
          gone.map(one => ({delete: one.entity.key!})),
        ),
      );
      return gone.length;
    } finally {
      if (!committing)
        await this.rpc.rollback(transaction).catch(() => undefined);
    }
  }

  private async call<T>(
    what: string,
    write: boolean,
    run: () => Promise<T>,
  ): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw classifyDatastoreError(error, {
        write,
        what: `fenced write (${what})`,
      });
    }
  }
}

const EXPIRED_PAGE = 500;
const GROUPS = 25;

/** A Datastore key's path, spelled so that a name and an id never collide. */
function pathIdentity(key: KeyProto): string {
  return JSON.stringify(
    (key.path ?? []).map(element =>
      element.name !== undefined && element.name !== null
        ? [element.kind, element.name]
        : [element.kind, {id: String(element.id)}],
    ),
  );
}

/** A record's key: a root entity in the data's partition. */
function recordKey(data: KeyProto, kind: string, name: string): KeyProto {
  return {
    ...(data.partitionId ? {partitionId: data.partitionId} : {}),
    path: [{kind, name}],
  };
}

function lastKind(key: KeyProto | null | undefined): string | undefined {
  const path = key?.path ?? [];
  return path[path.length - 1]?.kind ?? undefined;
}

function expired(found: FoundEntity, nowMs: number): boolean {
  const at = dateOfTimestamp(
    found.entity.properties?.expiresAt?.timestampValue,
  );
  return at === undefined || at.getTime() <= nowMs;
}

function integerOf(
  found: EntityProto | undefined,
  property: string,
): bigint | undefined {
  const value = found?.properties?.[property]?.integerValue;
  return value === undefined || value === null
    ? undefined
    : BigInt(String(value));
}

function unindexed<T extends object>(value: T): T & {excludeFromIndexes: true} {
  return {...value, excludeFromIndexes: true};
}

/** The caller's data, without the fence (which can exceed Number.MAX_SAFE_INTEGER and is not theirs). */
function decodeData(proto: EntityProto): EntityData {
  const {[FENCE_PROPERTY]: _fence, ...properties} = proto.properties ?? {};
  return entity.entityFromEntityProto({
    ...proto,
    properties,
  } as Parameters<typeof entity.entityFromEntityProto>[0]) as EntityData;
}

function encodeData(
  key: KeyProto,
  data: EntityData,
  fence: bigint,
  excludeFromIndexes: readonly string[],
): EntityProto {
  const proto = entity.entityToEntityProto({
    data,
    excludeFromIndexes: [...excludeFromIndexes],
  }) as EntityProto;
  return {
    ...proto,
    key,
    properties: {
      ...proto.properties,
      [FENCE_PROPERTY]: unindexed({integerValue: fence.toString()}),
    },
  };
}

/** The key of `path` ([kind, name, ...]) in `partitionId`; INVALID_ARGUMENT for the library's own kinds. */
export function fencedKey(
  partitionId: NonNullable<KeyProto['partitionId']>,
  path: readonly string[],
  lockKind?: string,
): KeyProto {
  const elements: {kind: string; name: string}[] = [];
  for (let i = 0; i < path.length; i += 2) {
    checkKindWritable(path[i] as string, lockKind);
    const name = path[i + 1] as string;
    if (/^__.*__$/.test(name) || Buffer.byteLength(name, 'utf8') > 1500)
      throw new LockError(
        'INVALID_ARGUMENT',
        `a Datastore key name must be at most 1,500 bytes and not __reserved__, got ${Buffer.byteLength(name, 'utf8')} bytes`,
      );
    elements.push({kind: path[i] as string, name: path[i + 1] as string});
  }
  return {partitionId, path: elements};
}
