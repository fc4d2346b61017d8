import type {LockRecord} from '../../core/backend';
import {lockKeyName} from '../common/lock-key-name';
import type {WaitingRoomState} from '../../waiting-room/types';
import type {EntityProto, FoundEntity, KeyProto} from './datastore-rpc';
import {dateOfTimestamp, timestampOfDate} from './timestamps';

/**
 * How a lock is stored. The key name is the SHA-256 of the identifier, so any identifier up to
 * 1,500 bytes fits the key-name limit and keys spread evenly; the identifier is kept unindexed
 * beside it. `acquiredAt` and `expiresAt` are indexed for the cleanup queries.
 *
 * The fence is the entity's version at the grant, assigned by the store. A renewal writes the
 * entity again (which gives it a new version), so it also records the grant's fence as `fence`:
 * the version says nothing about the grant any more, the property does.
 *
 * A waiting room (`waiting`) is kept as unindexed `waiting*` properties, absent when the room is
 * empty. A park rewrites the lock without being a sign of life of its holder, so it also keeps
 * `signedAt`, the store's time of the holder's last sign (see storeTimesOf), and `lastParkId`,
 * which recognises a retried park (any later write of the lock drops it).
 */
export {DEFAULT_ENTITY_KIND} from '../../configuration/store-defaults';

export function lockKey(
  partitionId: NonNullable<KeyProto['partitionId']>,
  entityKind: string,
  identifier: string,
): KeyProto {
  return {
    partitionId,
    path: [{kind: entityKind, name: lockKeyName(identifier)}],
  };
}

export type LockFields = Omit<LockRecord, 'revision'>;

/** What a write that is no sign of life of the holder (a park) keeps beside the record. */
export interface ParkMarks {
  /** The store's time of the holder's last sign of life, where the store reports one. */
  readonly signedAt: Date | undefined;
  readonly lastParkId: string;
}

const unindexedInteger = (value: number | bigint) => ({
  integerValue: String(value),
  excludeFromIndexes: true,
});

const unindexedTimestamp = (value: Date) => ({
  timestampValue: timestampOfDate(value),
  excludeFromIndexes: true,
});

export function encodeLock(
  key: KeyProto,
  fields: LockFields,
  marks?: ParkMarks,
): EntityProto {
  return {
    key,
    properties: {
      identifier: {stringValue: fields.identifier, excludeFromIndexes: true},
      token: {stringValue: fields.token, excludeFromIndexes: true},
      acquiredAt: {timestampValue: timestampOfDate(fields.acquiredAt)},
      // Absent, not null, when the lock cannot be taken by time: a `<` filter matches nulls (they sort first).
      ...(fields.expiresAt
        ? {expiresAt: {timestampValue: timestampOfDate(fields.expiresAt)}}
        : {}),
      ...(fields.renewedAt
        ? {
            renewedAt: {
              timestampValue: timestampOfDate(fields.renewedAt),
              excludeFromIndexes: true,
            },
          }
        : {}),
      ...(fields.leaseMs === undefined
        ? {}
        : {leaseMs: unindexedInteger(fields.leaseMs)}),
      ...(fields.stealAfterMs === undefined
        ? {}
        : {stealAfterMs: unindexedInteger(fields.stealAfterMs)}),
      ...(fields.fence === undefined
        ? {}
        : {fence: unindexedInteger(fields.fence)}),
      ...encodeRoom(fields.waiting),
      ...(marks?.signedAt
        ? {signedAt: unindexedTimestamp(marks.signedAt)}
        : {}),
      ...(marks
        ? {
            lastParkId: {
              stringValue: marks.lastParkId,
              excludeFromIndexes: true,
            },
          }
        : {}),
    },
  };
}

function encodeRoom(
  waiting: WaitingRoomState | undefined,
): NonNullable<EntityProto['properties']> {
  if (!waiting || waiting.tail <= waiting.head) return {};
  return {
    waitingHead: unindexedInteger(waiting.head),
    waitingTail: unindexedInteger(waiting.tail),
    ...(waiting.handedTo === undefined
      ? {}
      : {waitingHandedTo: unindexedInteger(waiting.handedTo)}),
    ...(waiting.running === undefined
      ? {}
      : {waitingRunning: unindexedInteger(waiting.running)}),
    ...(waiting.oldestParkedAt
      ? {waitingOldestParkedAt: unindexedTimestamp(waiting.oldestParkedAt)}
      : {}),
  };
}

export function decodeLock(found: FoundEntity): LockRecord {
  const properties = found.entity.properties ?? {};
  const expiresAt = dateOfTimestamp(properties.expiresAt?.timestampValue);
  const renewedAt = dateOfTimestamp(properties.renewedAt?.timestampValue);
  const integer = (name: string) => {
    const value = properties[name]?.integerValue;
    return value === undefined || value === null ? undefined : Number(value);
  };
  const leaseMs = integer('leaseMs');
  const stealAfterMs = integer('stealAfterMs');
  const storedFence = properties.fence?.integerValue;
  const waiting = decodeRoom(integer, properties);
  return {
    identifier: String(properties.identifier?.stringValue ?? ''),
    token: String(properties.token?.stringValue ?? ''),
    acquiredAt:
      dateOfTimestamp(properties.acquiredAt?.timestampValue) ?? new Date(0),
    ...(renewedAt ? {renewedAt} : {}),
    ...(leaseMs === undefined ? {} : {leaseMs}),
    ...(stealAfterMs === undefined ? {} : {stealAfterMs}),
    ...(expiresAt ? {expiresAt} : {}),
    fence:
      storedFence === undefined || storedFence === null
        ? found.version
        : BigInt(String(storedFence)),
    revision: found.version.toString(),
    ...(waiting ? {waiting} : {}),
  };
}

function decodeRoom(
  integer: (name: string) => number | undefined,
  properties: NonNullable<EntityProto['properties']>,
): WaitingRoomState | undefined {
  const head = integer('waitingHead');
  const tail = integer('waitingTail');
  if (head === undefined || tail === undefined || tail <= head)
    return undefined;
  const handedTo = integer('waitingHandedTo');
  const running = integer('waitingRunning');
  const oldestParkedAt = dateOfTimestamp(
    properties.waitingOldestParkedAt?.timestampValue,
  );
  return {
    head,
    tail,
    ...(handedTo === undefined ? {} : {handedTo}),
    ...(running === undefined ? {} : {running}),
    ...(oldestParkedAt ? {oldestParkedAt} : {}),
  };
}

/**
 * The store's times of a lock, for sinceLastSignMs: the read's time, and the holder's last sign of
 * life, which is the entity's last write unless a park wrote it since (then `signedAt`). Without
 * this, every park would count as a renewal on a store that reports times, and a crashed holder's
 * lease would never end while messages kept arriving.
 */
export function storeTimesOf(found: FoundEntity): {
  updatedAt: Date | undefined;
  readAt: Date | undefined;
} {
  const signedAt = dateOfTimestamp(
    found.entity.properties?.signedAt?.timestampValue,
  );
  return {updatedAt: signedAt ?? found.updatedAt, readAt: found.readAt};
}

/** The parkId of the park that wrote the lock last, when that was its last write. */
export function lastParkIdOf(found: FoundEntity): string | undefined {
  const value = found.entity.properties?.lastParkId?.stringValue;
  return value ?? undefined;
}
