import type {ParkedRecord} from '../../waiting-room/types';
import {parkedKeyName} from '../../waiting-room/state';
import type {EntityProto, FoundEntity, KeyProto} from './datastore-rpc';
import {dateOfTimestamp, timestampOfDate} from './timestamps';

/**
 * How a parked message is stored: an entity of kind `<lock kind>Parked` whose key is a child of
 * the lock's key, so the lock and its room are one entity group (one transaction covers both, and
 * an ancestor query reads the room strongly consistent). Keyed by the zero-padded seq, so key order
 * is park order. Only `parkedAt` is indexed; the data is a blob, the attributes a JSON string.
 */
export function parkedKind(entityKind: string): string {
  return `${entityKind}Parked`;
}

export function parkedKey(
  lockKey: KeyProto,
  entityKind: string,
  seq: number,
): KeyProto {
  return {
    partitionId: lockKey.partitionId ?? null,
    path: [
      ...(lockKey.path ?? []),
      {kind: parkedKind(entityKind), name: parkedKeyName(seq)},
    ],
  };
}

export function encodeParked(key: KeyProto, record: ParkedRecord): EntityProto {
  const unindexedString = (value: string) => ({
    stringValue: value,
    excludeFromIndexes: true,
  });
  return {
    key,
    properties: {
      identifier: unindexedString(record.identifier),
      seq: {integerValue: String(record.seq), excludeFromIndexes: true},
      parkId: unindexedString(record.parkId),
      parkedAt: {timestampValue: timestampOfDate(record.parkedAt)},
      data: {blobValue: record.data, excludeFromIndexes: true},
      attributes: unindexedString(JSON.stringify(record.attributes)),
      orderingKey: unindexedString(record.orderingKey),
      messageId: unindexedString(record.messageId),
      retryTopic: unindexedString(record.retryTopic),
    },
  };
}

export function decodeParked(found: FoundEntity): ParkedRecord {
  const properties = found.entity.properties ?? {};
  const string = (name: string) => String(properties[name]?.stringValue ?? '');
  const blob = properties.data?.blobValue;
  return {
    identifier: string('identifier'),
    seq: Number(properties.seq?.integerValue ?? 0),
    parkId: string('parkId'),
    parkedAt:
      dateOfTimestamp(properties.parkedAt?.timestampValue) ?? new Date(0),
    data:
      typeof blob === 'string'
        ? Buffer.from(blob, 'base64')
        : Buffer.from(blob ?? new Uint8Array()),
    attributes: attributesOf(string('attributes')),
    orderingKey: string('orderingKey'),
    messageId: string('messageId'),
    retryTopic: string('retryTopic'),
  };
}

function attributesOf(json: string): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(json || '{}');
    return parsed && typeof parsed === 'object'
      ? Object.fromEntries(
          Object.entries(parsed).map(([name, value]) => [name, String(value)]),
        )
      : {};
  } catch {
    return {};
  }
}
