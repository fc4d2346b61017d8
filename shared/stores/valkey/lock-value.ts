import type {LockRecord} from '../../core/backend';
import {expiryOf} from '../../core/taking-rules';

/** A stored lock as the scripts write it (see lua-scripts.ts), with its grant's fence. */
export interface StoredLock {
  readonly record: LockRecord;
  /** The grant's fence: strictly increasing per identifier while the server keeps its data. */
  readonly fence: bigint;
  /** The server's time (ms) of the holder's last sign of life: what steals and lease ends are judged from. */
  readonly signedAtMs: number;
}

/**
 * `null` for a value that is not a lock of ours. The record carries no `fence`: WEAK grants have
 * none in the library's types (FenceOf), so the Valkey fence is read apart (ValkeyLockBackend.fenceOf).
 */
export function decodeStoredLock(value: unknown): StoredLock | null {
  if (typeof value !== 'string') return null;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(value) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (
    parsed === null ||
    typeof parsed !== 'object' ||
    typeof parsed.t !== 'string' ||
    typeof parsed.s !== 'number' ||
    typeof parsed.a !== 'number' ||
    typeof parsed.f !== 'string' ||
    !/^\d+$/.test(parsed.f)
  )
    return null;
  const leaseMs = numberOrUndefined(parsed.l);
  const stealAfterMs = numberOrUndefined(parsed.st);
  const renewedAt =
    typeof parsed.rn === 'number' ? new Date(parsed.rn) : undefined;
  const acquiredAt = new Date(parsed.a);
  const expiresAt = expiryOf(renewedAt ?? acquiredAt, {leaseMs, stealAfterMs});
  return {
    record: {
      identifier: String(parsed.id ?? ''),
      token: parsed.t,
      acquiredAt,
      ...(renewedAt ? {renewedAt} : {}),
      ...(leaseMs === undefined ? {} : {leaseMs}),
      ...(stealAfterMs === undefined ? {} : {stealAfterMs}),
      ...(expiresAt ? {expiresAt} : {}),
    },
    fence: BigInt(parsed.f),
    signedAtMs: parsed.s,
  };
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}
