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

/**
 * How long since the holder's last sign of life (grant or renewal). The store's own clock is
 * preferred: the lock's last write time against the read's time. Besides removing client clock
 * skew, it counts from when the write took effect: the stored times are taken before the commit,
 * and on Firestore in Datastore mode a commit can wait seconds for a contended lock, which would
 * make a fresh grant look stale at once. Stores that report neither time (the legacy Datastore
 * emulator) fall back to this host's clock (`now`) against the holder's.
 */
export function sinceLastSignMs(
  storeTimes: {
    readonly updatedAt?: Date | undefined;
    readonly readAt?: Date | undefined;
  },
  holder: Pick<LockRecord, 'acquiredAt' | 'renewedAt'>,
  now: Date = new Date(),
): number {
  if (storeTimes.updatedAt && storeTimes.readAt)
    return storeTimes.readAt.getTime() - storeTimes.updatedAt.getTime();
  return now.getTime() - lastSignOf(holder).getTime();
}
