import type {ParkedMessage, ParkedRecord} from '../waiting-room/types';
import type {Publisher} from './publisher';
import {NOT_BEFORE_ATTRIBUTE} from './requeue-attributes';

/**
 * The attributes a wake-up carries: which parked record it is. Not a credential: the lock is the
 * woken message's only if the store says it was handed to that record (see WaitingRoomStore.claim).
 */
export const PARK_SEQ_ATTRIBUTE = 'lock-park-seq';
export const PARK_ID_ATTRIBUTE = 'lock-park-id';

export interface WakeUp {
  readonly seq: number;
  readonly parkId: string;
}

/** The wake-up a message carries; `undefined` for an arrival (or garbled attributes, read as one). */
export function wakeUpOf(
  attributes: Record<string, string> | undefined,
): WakeUp | undefined {
  const seq = Number(attributes?.[PARK_SEQ_ATTRIBUTE]);
  const parkId = attributes?.[PARK_ID_ATTRIBUTE];
  if (!Number.isSafeInteger(seq) || seq < 0 || !parkId) return undefined;
  return {seq, parkId};
}

/**
 * What is parked of a message's attributes: its own, without an earlier wake-up's or a re-queue's
 * not-before (a parked message is due as soon as it is woken).
 */
export function parkedAttributes(
  attributes: Record<string, string> | undefined,
): Record<string, string> {
  const {
    [PARK_SEQ_ATTRIBUTE]: _seq,
    [PARK_ID_ATTRIBUTE]: _parkId,
    [NOT_BEFORE_ATTRIBUTE]: _notBefore,
    ...own
  } = attributes ?? {};
  return own;
}

/** Publishes a parked message, as it came, to its handler's retry topic, naming its parked record. */
export function publishWakeUp(
  publisher: Publisher,
  record: ParkedRecord,
): Promise<string> {
  return publisher.publish(
    record.retryTopic,
    record.data,
    {
      ...record.attributes,
      [PARK_SEQ_ATTRIBUTE]: String(record.seq),
      [PARK_ID_ATTRIBUTE]: record.parkId,
    },
    record.orderingKey,
  );
}

/** The parked form of a delivered message. */
export function parkedMessageOf(
  message: {
    readonly data?: string;
    readonly attributes?: Record<string, string>;
    readonly messageId?: string;
  },
  orderingKey: string,
  messageId: string,
  retryTopic: string,
): ParkedMessage {
  return {
    data: Buffer.from(message.data ?? '', 'base64'),
    attributes: parkedAttributes(message.attributes),
    orderingKey,
    messageId,
    retryTopic,
  };
}
