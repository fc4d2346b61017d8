import {createHash} from 'node:crypto';
import type {LockRecord} from '../backend';
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
 */
export {DEFAULT_ENTITY_KIND} from '../store-defaults';

export function lockKeyName(identifier: string): string {
  return createHash('sha256').update(identifier, 'utf8').digest('hex');
}

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

export function encodeLock(key: KeyProto, fields: LockFields): EntityProto {
  const unindexedInteger = (value: number | bigint) => ({
    integerValue: String(value),
    excludeFromIndexes: true,
  });
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
    },
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
  };
}
