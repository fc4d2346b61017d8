import { createHash } from 'node:crypto';
import type { LockRecord } from '../backend';
import type { EntityProto, FoundEntity, KeyProto } from './datastore-rpc';
import { dateOfTimestamp, timestampOfDate } from './timestamps';

/**
 * How a lock is stored. The key name is the SHA-256 of the identifier, so any identifier up to
 * 1,500 bytes fits the key-name limit and keys spread evenly; the identifier is kept unindexed
 * beside it. `acquiredAt` and `expiresAt` are indexed for the cleanup queries. The fence is not a
 * property: it is the entity's version, assigned by the store on every write.
 */
export const DEFAULT_ENTITY_KIND = 'DatastoreLock';

export function lockKeyName(identifier: string): string {
  return createHash('sha256').update(identifier, 'utf8').digest('hex');
}

export function lockKey(partitionId: KeyProto['partitionId'], entityKind: string, identifier: string): KeyProto {
  return { partitionId, path: [{ kind: entityKind, name: lockKeyName(identifier) }] };
}

export interface LockFields {
  readonly identifier: string;
  readonly token: string;
  readonly acquiredAt: Date;
  readonly expiresAt: Date | undefined;
}

export function encodeLock(key: KeyProto, fields: LockFields): EntityProto {
  return {
    key,
    properties: {
      identifier: { stringValue: fields.identifier, excludeFromIndexes: true },
      token: { stringValue: fields.token, excludeFromIndexes: true },
      acquiredAt: { timestampValue: timestampOfDate(fields.acquiredAt) },
      // Absent, not null, when the lock cannot be stolen: a `<` filter matches nulls (they sort first).
      ...(fields.expiresAt ? { expiresAt: { timestampValue: timestampOfDate(fields.expiresAt) } } : {}),
    },
  };
}

export function decodeLock(found: FoundEntity): LockRecord {
  const properties = found.entity.properties ?? {};
  const expiresAt = dateOfTimestamp(properties.expiresAt?.timestampValue);
  return {
    identifier: String(properties.identifier?.stringValue ?? ''),
    token: String(properties.token?.stringValue ?? ''),
    acquiredAt: dateOfTimestamp(properties.acquiredAt?.timestampValue) ?? new Date(0),
    ...(expiresAt ? { expiresAt } : {}),
    fence: found.version,
    revision: found.version.toString(),
  };
}

