import diagnosticsChannel from 'node:diagnostics_channel';
import type {LockKind} from '../core/kinds';

/** The `node:diagnostics_channel` channel every lock event is published on, for in-process observers. */
export const EVENTS_CHANNEL = 'cloud-functions-locking:events';

export type LockEventType =
  | 'acquire'
  | 'release'
  | 'renew'
  | 'lost'
  | 'cleanup'
  | 'requeue'
  | 'dead_letter'
  | 'park'
  | 'wake'
  | 'dispatch';

/** One event, as published. Never a token; the identifier only when the app opted in. */
export interface LockEvent {
  readonly type: LockEventType;
  readonly kind: LockKind;
  /** SHA-256 of the identifier (hex); absent for a cleanup, which concerns many locks. */
  readonly identifierHash?: string;
  /** Only with `configureLocking({ telemetry: { recordIdentifiers: true } })`. */
  readonly identifier?: string;
  readonly outcome?: string;
  /** The grant's fence, as a decimal string (JSON has no bigint). */
  readonly fence?: string;
  readonly holderId?: string;
  /** Acquire: how long it took, waiting included. Wake: how long the message was parked. */
  readonly waitedMs?: number;
  /** Park: messages in the lock's waiting room after it (or, full, the room's depth). */
  readonly depth?: number;
  /** Dead letter: max_attempts, max_wait or bad_message. Dispatch: release, arrival or sweep. */
  readonly reason?: string;
  /** Cleanup: how many locks it removed. */
  readonly deleted?: number;
  /** ISO 8601, this host's clock. */
  readonly at: string;
}

const channel = diagnosticsChannel.channel(EVENTS_CHANNEL);

/** Whether anyone listens: with no subscriber, no event is even built. */
export function eventsObserved(): boolean {
  return channel.hasSubscribers;
}

export function publishEvent(event: LockEvent): void {
  channel.publish(event);
}
