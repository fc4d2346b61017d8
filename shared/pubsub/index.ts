/**
 * cloud-functions-locking/pubsub: lockedHandler, for Pub/Sub-triggered functions. Its re-queues
 * and hand-offs publish with `@google-cloud/pubsub`, which a project using this entry installs
 * (it loads on the first publish).
 */
import type {Lock} from '../core/lock';
import {defaultLocking} from '../locking';
import type {LockedHandlerOptions} from './locked-handler-options';
import type {PubSubCloudEvent} from './locked-handler';

/**
 * Wraps a Pub/Sub-triggered CloudEvent handler so it runs under a lock.
 *
 * - Acquired: runs `handler(event, held)`, then releases (also when it throws; its error
 *   propagates, so Pub/Sub's own retry applies). The lock has a lease (`leaseMs`, 60 s by default),
 *   renewed while the handler runs and never past the function's deadline (`deadlineMs`). `held`
 *   is the Lock: its `signal` aborts if the lock is lost, its `fence` orders writes.
 * - Lost while the handler ran (taken after its lease ran out, removed by an operator): the
 *   invocation fails with LockError `LOCK_LOST` once the handler settles, so Pub/Sub redelivers the
 *   message. A handler that writes checks `held.signal` before it does.
 * - Held, STRONG, with a `retryTopic` (and `waitingRoom` not `false`): parks the message in the
 *   lock's waiting room, acknowledged once parked; the holder's release hands the lock to the
 *   oldest parked message and publishes it to the retry topic, where it claims the lock and runs.
 *   Per lock, parked messages run in arrival order. See docs/locked-handler.md, "The waiting room".
 * - Held, `wait: false`: acknowledges the message without running the handler.
 * - Held, `wait: true`, with a `retryTopic` but no waiting room (WEAK, `waitingRoom: false`, a
 *   message too large to park, a full room): re-publishes the message there (same data, attributes
 *   and ordering key, plus `lock-attempt` and `lock-not-before`), and acknowledges the original
 *   only once the publish succeeded: if it fails, the invocation throws and Pub/Sub redelivers.
 *   The retry topic is this handler's own, so other subscribers of the work topic never see copies.
 * - Held, `wait: true`, no `retryTopic`: fails the delivery (LockStillHeldError); the subscription
 *   redelivers the message to this function alone, after its retry backoff.
 * - After `maxAttempts` re-queues: dead-lettered, or without a dead-letter topic the delivery
 *   fails, so the subscription's dead-letter policy takes it. Never dropped, never looped forever.
 * - No lock identifier (`identifier(event)` throws, or answers no valid identifier): dead-lettered
 *   with reason `bad_message`, or without a dead-letter topic the delivery fails
 *   (UnreadableMessageError) for the subscription's dead-letter policy. The handler never runs.
 */
export type LockedHandler = <E extends PubSubCloudEvent>(
  options: LockedHandlerOptions<E>,
  handler: (event: E, held: Lock) => unknown,
) => (event: E) => Promise<void>;

declare module '../locking' {
  interface Locking {
    /** `lockedHandler` taking its locks, and logging, through this instance. */
    readonly lockedHandler: LockedHandler;
  }
}

/** See LockedHandler. */
export const lockedHandler: LockedHandler = defaultLocking.lockedHandler;
export {
  EarlyDeliveryError,
  LockStillHeldError,
  UnreadableMessageError,
  DEFAULT_REQUEUE_BACKOFF,
  DEFAULT_HANDOFF_LEASE_MS,
  DEFAULT_MAX_QUEUE_LENGTH,
  DEFAULT_MAX_WAIT_MS,
} from './locked-handler';
export type {LockedHandlerOptions, PubSubCloudEvent} from './locked-handler';
export {PARK_ID_ATTRIBUTE, PARK_SEQ_ATTRIBUTE} from './wake-up';
export {DEAD_LETTER_DETAIL_ATTRIBUTE} from './unreadable-message';
export {
  ATTEMPT_ATTRIBUTE,
  NOT_BEFORE_ATTRIBUTE,
  ORDERING_KEY_ATTRIBUTE,
  DEAD_LETTER_REASON_ATTRIBUTE,
} from './requeue-attributes';
