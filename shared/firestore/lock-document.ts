import type {
  DocumentData,
  DocumentSnapshot,
  Timestamp,
} from '@google-cloud/firestore';
import type {LockRecord} from '../backend';

/**
 * How a lock is stored in Firestore native mode: one document per lock, its id the SHA-256 of the
 * identifier (as Datastore's key name: any identifier up to 1,500 bytes fits, and ids spread
 * evenly), in the collection named like Datastore's entity kind. `acquiredAt` and `expiresAt` are
 * timestamps for the cleanup queries (Firestore indexes single fields by itself).
 *
 * The fence is the document's update time, in microseconds, at the grant; a renewal writes the
 * document again, so the grant's fence is kept as a field (a decimal string: an int64 beyond what a
 * JavaScript number holds exactly, in time).
 */
export type LockFields = Omit<LockRecord, 'revision'>;

/** Every field a lock may have, so a conditional update (which only sets the fields it names) can remove the others. */
const OPTIONAL_FIELDS = [
  'renewedAt',
  'leaseMs',
  'stealAfterMs',
  'expiresAt',
  'fence',
] as const;

export function encodeLock(fields: LockFields): DocumentData {
  return {
    identifier: fields.identifier,
    token: fields.token,
    acquiredAt: fields.acquiredAt,
    ...(fields.renewedAt ? {renewedAt: fields.renewedAt} : {}),
    ...(fields.leaseMs === undefined ? {} : {leaseMs: fields.leaseMs}),
    ...(fields.stealAfterMs === undefined
      ? {}
      : {stealAfterMs: fields.stealAfterMs}),
    // Absent when the lock cannot be taken by time, so the expiry query never matches it.
    ...(fields.expiresAt ? {expiresAt: fields.expiresAt} : {}),
    ...(fields.fence === undefined ? {} : {fence: fields.fence.toString()}),
  };
}

/** The whole document as an update's fields: what `fields` lacks is deleted (`deleteField`). */
export function encodeLockReplacing(
  fields: LockFields,
  deleteField: unknown,
): DocumentData {
  const data = encodeLock(fields);
  for (const name of OPTIONAL_FIELDS)
    if (!(name in data)) data[name] = deleteField;
  return data;
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

export function decodeLock(snapshot: DocumentSnapshot): LockRecord | null {
  const data = snapshot.data();
  if (!data || !snapshot.updateTime) return null;
  const date = (value: unknown) =>
    value && typeof (value as Timestamp).toDate === 'function'
      ? (value as Timestamp).toDate()
      : undefined;
  const number = (value: unknown) =>
    typeof value === 'number' ? value : undefined;
  const renewedAt = date(data.renewedAt);
  const expiresAt = date(data.expiresAt);
  const leaseMs = number(data.leaseMs);
  const stealAfterMs = number(data.stealAfterMs);
  return {
    identifier: String(data.identifier ?? ''),
    token: String(data.token ?? ''),
    acquiredAt: date(data.acquiredAt) ?? new Date(0),
    ...(renewedAt ? {renewedAt} : {}),
    ...(leaseMs === undefined ? {} : {leaseMs}),
    ...(stealAfterMs === undefined ? {} : {stealAfterMs}),
    ...(expiresAt ? {expiresAt} : {}),
    fence:
      typeof data.fence === 'string' && /^\d+$/.test(data.fence)
        ? BigInt(data.fence)
        : microsOf(snapshot.updateTime),
    revision: revisionOf(snapshot.updateTime),
  };
}
