import {attemptPeek} from './attempts';
import type {LockRecord} from './backend';
import {currentRuntime} from './config';
import type {RuntimeSource} from './runtime';
import {holderIdOf} from './holder-id';
import {validateIdentifier} from './validation';
import {LockKind} from './kinds';
import {resolveLockOptions} from './options';

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
}

/** The current holder of `identifier`, or `null` when the lock is free. */
export function peek(
  identifier: string,
  options: {kind?: LockKind} = {},
): Promise<PeekedLock | null> {
  return peekIn(currentRuntime, identifier, options);
}

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

export function describeHolder(record: LockRecord): PeekedLock {
  return {
    identifier: record.identifier,
    holderId: holderIdOf(record.token),
    acquiredAt: record.acquiredAt,
    ...(record.renewedAt ? {renewedAt: record.renewedAt} : {}),
    ...(record.leaseMs === undefined ? {} : {leaseMs: record.leaseMs}),
    ...(record.expiresAt ? {expiresAt: record.expiresAt} : {}),
    ...(record.fence === undefined ? {} : {fence: record.fence}),
  };
}
