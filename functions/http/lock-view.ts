import type {PeekedLock} from '../../shared';
import {identifierHashOf} from '../../shared/internal';

/** A lock as the CLI and the locks page show it: what peek() tells, plus ages on this host's clock. JSON-safe. */
export interface LockView {
  readonly identifier: string;
  readonly identifierHash: string;
  readonly holderId: string;
  readonly acquiredAt: string;
  readonly renewedAt?: string;
  readonly leaseMs?: number;
  readonly expiresAt?: string;
  /** Decimal string: fences can exceed what a JSON number holds exactly. */
  readonly fence?: string;
  readonly ageMs: number;
  /** Until the lease ends (negative once it has); absent without a lease. */
  readonly leaseLeftMs?: number;
  /** Messages lockedHandler parked on this lock, waiting for it (0 for none). */
  readonly queueDepth: number;
  /** When the oldest parked message was parked; absent with none. */
  readonly oldestParkedAt?: string;
  /** How long the oldest parked message has waited; absent with none. */
  readonly oldestWaitMs?: number;
}

export function viewOf(lock: PeekedLock, now: number = Date.now()): LockView {
  return {
    identifier: lock.identifier,
    identifierHash: identifierHashOf(lock.identifier),
    holderId: lock.holderId,
    acquiredAt: lock.acquiredAt.toISOString(),
    ...(lock.renewedAt ? {renewedAt: lock.renewedAt.toISOString()} : {}),
    ...(lock.leaseMs === undefined ? {} : {leaseMs: lock.leaseMs}),
    ...(lock.expiresAt ? {expiresAt: lock.expiresAt.toISOString()} : {}),
    ...(lock.fence === undefined ? {} : {fence: lock.fence.toString()}),
    ageMs: now - lock.acquiredAt.getTime(),
    ...(lock.leaseMs !== undefined && lock.expiresAt
      ? {leaseLeftMs: lock.expiresAt.getTime() - now}
      : {}),
    queueDepth: lock.waiting?.depth ?? 0,
    ...(lock.waiting?.oldestParkedAt
      ? {
          oldestParkedAt: lock.waiting.oldestParkedAt.toISOString(),
          oldestWaitMs: now - lock.waiting.oldestParkedAt.getTime(),
        }
      : {}),
  };
}
