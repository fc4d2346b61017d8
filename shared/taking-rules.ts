import type {LockRecord} from './backend';

/**
 * Who may take a lock that is held, and when cleanup may delete it: the rules both stores apply,
 * in one place. Every age here is "time since the holder's last sign of life" (its grant, or its
 * last renewal), measured by the caller on the store's clock where the store reports one.
 *
 * - A grant with a lease (`leaseMs`) is live until `leaseMs` after its last sign of life. A live
 *   lease is never taken, whatever the taker's `stealAfterMs`, and never deleted by cleanup,
 *   whatever `maxAgeMs`. An expired lease is free to every acquire.
 * - A grant without a lease keeps djangae's rules: a taker with `stealAfterMs` takes it once it has
 *   been held longer than that; cleanup deletes it once older than `maxAgeMs`, or once past the
 *   holder's own steal time (`stealAfterMs` it was acquired with).
 */
export type Takeover = 'lease_expired' | 'stolen';

export function takeoverOf(
  holder: Pick<LockRecord, 'leaseMs'>,
  sinceLastSignMs: number,
  takerStealAfterMs: number | undefined,
): Takeover | null {
  if (holder.leaseMs !== undefined)
    return sinceLastSignMs > holder.leaseMs ? 'lease_expired' : null;
  if (takerStealAfterMs !== undefined && sinceLastSignMs > takerStealAfterMs)
    return 'stolen';
  return null;
}

/** What taking over `holder` is called: a lease that ran out, or a lease-less lock stolen. */
export function takeoverKindOf(holder: Pick<LockRecord, 'leaseMs'>): Takeover {
  return holder.leaseMs !== undefined ? 'lease_expired' : 'stolen';
}

export interface CleanupRule {
  readonly maxAgeMs: number;
}

export function abandoned(
  holder: Pick<LockRecord, 'leaseMs' | 'stealAfterMs'>,
  sinceLastSignMs: number,
  rule: CleanupRule,
): boolean {
  if (holder.leaseMs !== undefined) return sinceLastSignMs > holder.leaseMs;
  if (
    holder.stealAfterMs !== undefined &&
    sinceLastSignMs > holder.stealAfterMs
  )
    return true;
  return sinceLastSignMs > rule.maxAgeMs;
}

/** When the holder's lock becomes takeable by anyone (a lease's end), or stealable by its own steal setting. */
export function expiryOf(
  lastSign: Date,
  holder: Pick<LockRecord, 'leaseMs' | 'stealAfterMs'>,
): Date | undefined {
  const ms = holder.leaseMs ?? holder.stealAfterMs;
  return ms === undefined ? undefined : new Date(lastSign.getTime() + ms);
}

/** The holder's last sign of life as the holder's host wrote it. */
export function lastSignOf(
  holder: Pick<LockRecord, 'acquiredAt' | 'renewedAt'>,
): Date {
  return holder.renewedAt ?? holder.acquiredAt;
}
