import {FieldValue} from '@google-cloud/firestore';
import type {
  DocumentData,
  DocumentSnapshot,
  Timestamp,
} from '@google-cloud/firestore';
import type {LockRecord} from '../../core/backend';
import {depthOf} from '../../waiting-room/state';
import type {WaitingRoomState} from '../../waiting-room/types';

/**
 * How a lock is stored in Firestore native mode: one document per lock, its id the SHA-256 of the
 * identifier (as Datastore's key name: any identifier up to 1,500 bytes fits, and ids spread
 * evenly), in the collection named like Datastore's entity kind. `acquiredAt` and `expiresAt` are
 * timestamps for the cleanup queries (Firestore indexes single fields by itself).
 *
 * The fence is the document's update time, in microseconds, at the grant; a renewal writes the
 * document again, so the grant's fence is kept as a field (a decimal string: an int64 beyond what a
 * JavaScript number holds exactly, in time).
 *
 * `signedAt` is the holder's last sign of life on the store's clock: the commit time of the grant or
 * renewal (a server timestamp). It is not the update time because a park writes the lock too (the
 * room's bookkeeping, `waiting`), and a park is no sign of life: judged on the update time, every
 * message parked behind a crashed holder would lengthen its lease.
 */
export type LockFields = Omit<LockRecord, 'revision'>;

/** Every field a lock may have, so a conditional update (which only sets the fields it names) can remove the others. */
const OPTIONAL_FIELDS = [
  'renewedAt',
  'leaseMs',
  'stealAfterMs',
  'expiresAt',
  'fence',
  'waiting',
] as const;

/**
 * The parkId of the last park that wrote the lock, so a park retried after a commit whose answer
 * was lost finds it landed. Outside the record: no replacing update names it, so it survives
 * renewals and grants (it is only ever compared with a new park's unique id).
 */
export const LAST_PARK_ID = 'lastParkId';

export interface LockEncoding {
  /** A park keeps the holder's last sign (see signedAtOf); every other write is one. */
  readonly signedAt?: Timestamp | undefined;
  /** The room's oldest message is parked by this very commit: its parkedAt is the commit time. */
  readonly oldestParkedNow?: boolean;
}

export function encodeLock(
  fields: LockFields,
  encoding: LockEncoding = {},
): DocumentData {
  const waiting = encodeWaiting(fields.waiting, encoding.oldestParkedNow);
  return {
    identifier: fields.identifier,
    token: fields.token,
    acquiredAt: fields.acquiredAt,
    signedAt: encoding.signedAt ?? FieldValue.serverTimestamp(),
    ...(fields.renewedAt ? {renewedAt: fields.renewedAt} : {}),
    ...(fields.leaseMs === undefined ? {} : {leaseMs: fields.leaseMs}),
    ...(fields.stealAfterMs === undefined
      ? {}
      : {stealAfterMs: fields.stealAfterMs}),
    // Absent when the lock cannot be taken by time, so the expiry query never matches it.
    ...(fields.expiresAt ? {expiresAt: fields.expiresAt} : {}),
    ...(fields.fence === undefined ? {} : {fence: fields.fence.toString()}),
    ...(waiting ? {waiting} : {}),
  };
}

/** The whole document as an update's fields: what `fields` lacks is deleted (`deleteField`). */
export function encodeLockReplacing(
  fields: LockFields,
  deleteField: unknown,
  encoding?: LockEncoding,
): DocumentData {
  const data = encodeLock(fields, encoding);
  for (const name of OPTIONAL_FIELDS)
    if (!(name in data)) data[name] = deleteField;
  return data;
}

/** An empty room is not stored. A map: an update naming `waiting` replaces all of it. */
function encodeWaiting(
  waiting: WaitingRoomState | undefined,
  oldestParkedNow = false,
): DocumentData | undefined {
  if (!waiting || depthOf(waiting) === 0) return undefined;
  const oldestParkedAt = oldestParkedNow
    ? FieldValue.serverTimestamp()
    : waiting.oldestParkedAt;
  return {
    head: waiting.head,
    tail: waiting.tail,
    ...(waiting.handedTo === undefined ? {} : {handedTo: waiting.handedTo}),
    ...(waiting.running === undefined ? {} : {running: waiting.running}),
    ...(oldestParkedAt ? {oldestParkedAt} : {}),
  };
}

/** Microseconds since the epoch: Firestore's own precision for update times. */
export function microsOf(time: Timestamp): bigint {
  return (
    BigInt(time.seconds) * 1_000_000n +
    BigInt(Math.floor(time.nanoseconds / 1000))
  );
}

/** The revision of a lock is its update time, exactly, so a conditional write can name it again. */
export function revisionOf(time: Timestamp): string {
  return `${time.seconds}.${String(time.nanoseconds).padStart(9, '0')}`;
}

export function timeOfRevision(
  revision: string,
): {seconds: number; nanoseconds: number} | undefined {
  const match = /^(\d+)\.(\d{9})$/.exec(revision);
  return match
    ? {seconds: Number(match[1]), nanoseconds: Number(match[2])}
    : undefined;
}

/** The holder's last sign of life on the store's clock; a lock written before `signedAt` existed: its update time. */
export function signedAtOf(snapshot: DocumentSnapshot): Timestamp | undefined {
  const signedAt: unknown = snapshot.get('signedAt');
  return isTimestamp(signedAt) ? signedAt : snapshot.updateTime;
}

/** The store's times of a lock document, for sinceLastSignMs (taking-rules.ts). */
export function storeTimesOf(snapshot: DocumentSnapshot): {
  updatedAt: Date | undefined;
  readAt: Date | undefined;
} {
  return {
    updatedAt: signedAtOf(snapshot)?.toDate(),
    readAt: snapshot.readTime?.toDate(),
  };
}

export function decodeLock(snapshot: DocumentSnapshot): LockRecord | null {
  const data = snapshot.data();
  if (!data || !snapshot.updateTime) return null;
  const renewedAt = dateOf(data.renewedAt);
  const expiresAt = dateOf(data.expiresAt);
  const leaseMs = numberOf(data.leaseMs);
  const stealAfterMs = numberOf(data.stealAfterMs);
  const waiting = decodeWaiting(data.waiting);
  return {
    identifier: String(data.identifier ?? ''),
    token: String(data.token ?? ''),
    acquiredAt: dateOf(data.acquiredAt) ?? new Date(0),
    ...(renewedAt ? {renewedAt} : {}),
    ...(leaseMs === undefined ? {} : {leaseMs}),
    ...(stealAfterMs === undefined ? {} : {stealAfterMs}),
    ...(expiresAt ? {expiresAt} : {}),
    fence:
      typeof data.fence === 'string' && /^\d+$/.test(data.fence)
        ? BigInt(data.fence)
        : microsOf(snapshot.updateTime),
    revision: revisionOf(snapshot.updateTime),
    ...(waiting ? {waiting} : {}),
  };
}

function decodeWaiting(value: unknown): WaitingRoomState | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const map = value as Record<string, unknown>;
  const head = numberOf(map.head);
  const tail = numberOf(map.tail);
  if (head === undefined || tail === undefined || tail <= head)
    return undefined;
  const handedTo = numberOf(map.handedTo);
  const running = numberOf(map.running);
  const oldestParkedAt = dateOf(map.oldestParkedAt);
  return {
    head,
    tail,
    ...(handedTo === undefined ? {} : {handedTo}),
    ...(running === undefined ? {} : {running}),
    ...(oldestParkedAt ? {oldestParkedAt} : {}),
  };
}

function isTimestamp(value: unknown): value is Timestamp {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Timestamp).toDate === 'function'
  );
}

function dateOf(value: unknown): Date | undefined {
  return isTimestamp(value) ? value.toDate() : undefined;
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}
