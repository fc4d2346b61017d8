import {createHash} from 'node:crypto';
import type {LockRecord} from '../../core/backend';

/**
 * How a WEAK lock is stored in memcached. The key is a prefix and the SHA-256 of the identifier
 * (memcached keys are at most 250 bytes, without spaces or control characters); the value is JSON
 * with the identifier, the owner's token and the times in milliseconds.
 */
export {DEFAULT_MEMCACHE_KEY_PREFIX} from '../../configuration/store-defaults';

export function lockCacheKey(prefix: string, identifier: string): string {
  return `${prefix}${createHash('sha256').update(identifier, 'utf8').digest('hex')}`;
}

export function encodeLockValue(record: LockRecord): Buffer {
  return Buffer.from(
    JSON.stringify({
      identifier: record.identifier,
      token: record.token,
      acquiredAt: record.acquiredAt.getTime(),
      ...(record.renewedAt ? {renewedAt: record.renewedAt.getTime()} : {}),
      ...(record.leaseMs === undefined ? {} : {leaseMs: record.leaseMs}),
      ...(record.stealAfterMs === undefined
        ? {}
        : {stealAfterMs: record.stealAfterMs}),
      ...(record.expiresAt ? {expiresAt: record.expiresAt.getTime()} : {}),
    }),
  );
}

/** `null` for a value that is not a lock of ours (written by something else under our key). */
export function decodeLockValue(value: Buffer): LockRecord | null {
  try {
    const parsed = JSON.parse(value.toString('utf8')) as Record<
      string,
      unknown
    >;
    if (
      typeof parsed.token !== 'string' ||
      typeof parsed.acquiredAt !== 'number'
    )
      return null;
    return {
      identifier: String(parsed.identifier ?? ''),
      token: parsed.token,
      acquiredAt: new Date(parsed.acquiredAt),
      ...(typeof parsed.renewedAt === 'number'
        ? {renewedAt: new Date(parsed.renewedAt)}
        : {}),
      ...(typeof parsed.leaseMs === 'number' ? {leaseMs: parsed.leaseMs} : {}),
      ...(typeof parsed.stealAfterMs === 'number'
        ? {stealAfterMs: parsed.stealAfterMs}
        : {}),
      ...(typeof parsed.expiresAt === 'number'
        ? {expiresAt: new Date(parsed.expiresAt)}
        : {}),
    };
  } catch {
    return null;
  }
}

/** memcached reads an expiry above 30 days as a Unix time rather than a duration. */
const RELATIVE_EXPIRY_LIMIT_S = 30 * 24 * 3600;

/**
 * The memcached expiry for a lock. 0 means "never", so a lock without stealAfterMs never expires
 * (memcached may still evict it). memcached counts whole seconds on a clock that ticks once a
 * second, so an expiry of n seconds can end after only n-1: one second is added so the key
 * outlives stealAfterMs, a sub-second steal time never becomes 0, and the millisecond steal rule
 * is applied from the stored acquire time instead.
 */
export function expirySeconds(
  stealAfterMs: number | undefined,
  nowMs: number = Date.now(),
): number {
  if (stealAfterMs === undefined) return 0;
  const seconds = Math.ceil(stealAfterMs / 1000) + 1;
  if (seconds <= RELATIVE_EXPIRY_LIMIT_S) return seconds;
  const unixTime = Math.ceil(nowMs / 1000) + seconds;
  // Past what the 32-bit field holds, "never" is what the caller asked for in practice.
  return unixTime <= 0xffffffff ? unixTime : 0;
}
