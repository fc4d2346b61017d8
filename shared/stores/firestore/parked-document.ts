import {FieldValue} from '@google-cloud/firestore';
import type {
  DocumentData,
  DocumentReference,
  DocumentSnapshot,
  Timestamp,
} from '@google-cloud/firestore';
import {parkedKeyName} from '../../waiting-room/state';
import type {ParkedMessage, ParkedRecord} from '../../waiting-room/types';

/**
 * How a parked message is stored in Firestore native mode: a document in the `parked`
 * subcollection of its lock's document, its id the zero-padded seq (so id order is park order,
 * and a query of the subcollection lists the room in order). Data as bytes, attributes as a map;
 * `parkedAt` is the park's commit time (a server timestamp).
 */
export const PARKED_COLLECTION = 'parked';

export function parkedRefOf(
  lock: DocumentReference,
  seq: number,
): DocumentReference {
  return lock.collection(PARKED_COLLECTION).doc(parkedKeyName(seq));
}

export interface ParkedPlace {
  readonly identifier: string;
  readonly seq: number;
  readonly parkId: string;
}

/** The document of a message parked by the commit that writes it. */
export function encodeParked(
  place: ParkedPlace,
  message: ParkedMessage,
): DocumentData {
  return {
    identifier: place.identifier,
    seq: place.seq,
    parkId: place.parkId,
    parkedAt: FieldValue.serverTimestamp(),
    data: message.data,
    attributes: {...message.attributes},
    orderingKey: message.orderingKey,
    messageId: message.messageId,
    retryTopic: message.retryTopic,
  };
}

/** The record a commit parked, as its caller tells it: parked at the commit's time. */
export function parkedRecordOf(
  place: ParkedPlace,
  message: ParkedMessage,
  committedAt: Timestamp,
): ParkedRecord {
  return {
    identifier: place.identifier,
    seq: place.seq,
    parkId: place.parkId,
    parkedAt: committedAt.toDate(),
    data: message.data,
    attributes: {...message.attributes},
    orderingKey: message.orderingKey,
    messageId: message.messageId,
    retryTopic: message.retryTopic,
  };
}

export function decodeParked(snapshot: DocumentSnapshot): ParkedRecord | null {
  const data = snapshot.data();
  if (!data) return null;
  const parkedAt = data.parkedAt as Timestamp | undefined;
  return {
    identifier: String(data.identifier ?? ''),
    seq: typeof data.seq === 'number' ? data.seq : -1,
    parkId: String(data.parkId ?? ''),
    parkedAt:
      typeof parkedAt?.toDate === 'function'
        ? parkedAt.toDate()
        : (snapshot.createTime?.toDate() ?? new Date(0)),
    data: bytesOf(data.data),
    attributes: attributesOf(data.attributes),
    orderingKey: String(data.orderingKey ?? ''),
    messageId: String(data.messageId ?? ''),
    retryTopic: String(data.retryTopic ?? ''),
  };
}

function bytesOf(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  return Buffer.alloc(0);
}

function attributesOf(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object') return {};
  const attributes: Record<string, string> = {};
  for (const [name, text] of Object.entries(value as Record<string, unknown>))
    attributes[name] = String(text);
  return attributes;
}
