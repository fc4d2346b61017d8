import {attemptPeek, retrying} from '../core/attempts';
import type {LockRecord} from '../core/backend';
import type {RuntimeSource} from '../configuration/runtime';
import {holderIdOf} from '../core/holder-id';
import {validateIdentifier} from '../validation';
import {LockKind} from '../core/kinds';
import {resolveLockOptions} from '../configuration/options';
import {depthOf} from '../waiting-room/state';

/** lockedHandler's waiting room on a lock: how many messages are parked, and since when the oldest. */
export interface PeekedWaiting {
  /** Messages parked (one of them may be handed the lock, or run under it). */
  readonly depth: number;
  /** When the oldest of them was parked. */
  readonly oldestParkedAt?: Date;
}

/** What anyone may know of a lock's holder. Never the token: that is the holder's release credential. */
export interface PeekedLock {
  readonly identifier: string;
  /** The grant's short id (see holderIdOf); `Lock#holderId` of the holder is the same. */
  readonly holderId: string;
  readonly acquiredAt: Date;
  /** The holder's last renewal, if it renewed. */
  readonly renewedAt?: Date;
  /** The holder's lease, if it has one. */
  readonly leaseMs?: number;
  /** When the lock becomes takeable (a lease's end, or its own steal time), on the holder's clock. */
  readonly expiresAt?: Date;
  readonly fence?: bigint;
  /** STRONG locks with messages parked by lockedHandler (see docs/locked-handler.md, "The waiting room"); absent when none are. */
  readonly waiting?: PeekedWaiting;
}

/** @internal */
export async function peekIn(
  runtimeOf: RuntimeSource,
  identifier: string,
  options: {kind?: LockKind} = {},
): Promise<PeekedLock | null> {
  validateIdentifier(identifier);
  const {kind} = resolveLockOptions({kind: options?.kind ?? LockKind.STRONG});
  const runtime = runtimeOf();
  const record = await attemptPeek(
    await runtime.backend(kind),
    identifier,
    runtime.config.retry,
  );
  return record ? describeHolder(record) : null;
}

/** @internal */
export function describeHolder(record: LockRecord): PeekedLock {
  return {
    identifier: record.identifier,
    holderId: holderIdOf(record.token),
    acquiredAt: record.acquiredAt,
    ...(record.renewedAt ? {renewedAt: record.renewedAt} : {}),
    ...(record.leaseMs === undefined ? {} : {leaseMs: record.leaseMs}),
    ...(record.expiresAt ? {expiresAt: record.expiresAt} : {}),
    ...(record.fence === undefined ? {} : {fence: record.fence}),
    ...waitingOf(record),
  };
}

function waitingOf(record: LockRecord): {waiting?: PeekedWaiting} {
  const depth = depthOf(record.waiting);
  if (depth === 0) return {};
  const oldestParkedAt = record.waiting?.oldestParkedAt;
  return {waiting: {depth, ...(oldestParkedAt ? {oldestParkedAt} : {})}};
}

/** A parked message as operators see it: where it stands and what it is, never its data (user data). */
export interface PeekedParked {
  readonly seq: number;
  readonly parkedAt: Date;
  readonly messageId: string;
  /** '' for none. */
  readonly orderingKey: string;
  /** Its data's size. */
  readonly bytes: number;
}

/**
 * The messages lockedHandler parked on a STRONG lock, oldest first, at most `limit`; `undefined`
 * when the store keeps no waiting room. For operators' tools: a vacant lock (released outside
 * lockedHandler with messages parked) has no holder for peek() to describe, yet its room is here.
 * @internal
 */
export async function peekParkedIn(
  runtimeOf: RuntimeSource,
  identifier: string,
  limit: number,
): Promise<PeekedParked[] | undefined> {
  validateIdentifier(identifier);
  const runtime = runtimeOf();
  const room = (await runtime.backend(LockKind.STRONG)).waitingRoom;
  if (!room) return undefined;
  const records = await retrying(runtime.config.retry, () =>
    room.parked(identifier, limit),
  );
  return records.map(record => ({
    seq: record.seq,
    parkedAt: record.parkedAt,
    messageId: record.messageId,
    orderingKey: record.orderingKey,
    bytes: record.data.length,
  }));
}
