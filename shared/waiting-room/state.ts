import type {LockRecord} from '../core/backend';
import type {ParkedMessage, WaitingRoomState} from './types';

/**
 * The token of a vacant lock: one released (outside lockedHandler) or cleaned up while messages
 * were parked. It keeps the room; it has no holder, and anyone may take it (a taker keeps the room).
 */
export const VACANT_TOKEN = '';

/** How many messages are in the room (dispatched or not). */
export function depthOf(waiting: WaitingRoomState | undefined): number {
  return waiting ? Math.max(0, waiting.tail - waiting.head) : 0;
}

export function hasParked(record: Pick<LockRecord, 'waiting'>): boolean {
  return depthOf(record.waiting) > 0;
}

export function isVacant(record: Pick<LockRecord, 'token'>): boolean {
  return record.token === VACANT_TOKEN;
}

/**
 * The room as a new grant that did not come through the room inherits it: nothing runs under it and
 * nothing is handed to anyone. `undefined` for an empty room, which is not stored.
 */
export function inheritedRoom(
  waiting: WaitingRoomState | undefined,
): WaitingRoomState | undefined {
  if (depthOf(waiting) === 0) return undefined;
  const {head, tail, oldestParkedAt} = waiting as WaitingRoomState;
  return {head, tail, ...(oldestParkedAt ? {oldestParkedAt} : {})};
}

/**
 * What a release leaves when messages are parked: a vacant lock, takeable at once, with the room
 * kept (so the order survives). `now` is this host's time.
 */
export function vacated(current: LockRecord, now = new Date()): LockRecord {
  return {
    identifier: current.identifier,
    token: VACANT_TOKEN,
    acquiredAt: now,
    leaseMs: 0,
    expiresAt: now,
    waiting: inheritedRoom(current.waiting),
  };
}

/**
 * The revision a release may use for a one-write conditional delete: none when the holder knows of
 * parked messages, because deleting the lock would strand them (the store's read path vacates it).
 */
export function releaseRevisionOf(record: LockRecord): string | undefined {
  return hasParked(record) ? undefined : record.revision;
}

/**
 * A parked message is one entity or document, which holds about 1 MiB: room is left for the
 * bookkeeping and the attributes' encoding. Larger messages keep the re-queue with backoff.
 */
export const MAX_PARKED_BYTES = 900 * 1024;

export function parkedSizeOf(message: ParkedMessage): number {
  let size = message.data.length + Buffer.byteLength(message.orderingKey);
  for (const [name, value] of Object.entries(message.attributes))
    size += Buffer.byteLength(name) + Buffer.byteLength(value);
  return size + Buffer.byteLength(message.messageId);
}

export function parkable(message: ParkedMessage): boolean {
  return parkedSizeOf(message) <= MAX_PARKED_BYTES;
}

/** How parked records are keyed: zero-padded, so key order is park order. */
export function parkedKeyName(seq: number): string {
  return String(seq).padStart(12, '0');
}
