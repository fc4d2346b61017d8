import {sleep} from '../core/backoff';
import {currentRuntime} from '../configuration/config';
import {acquireIn, type Lock} from '../core/lock';
import type {RuntimeSource} from '../configuration/runtime';
import {EarlyDeliveryError} from './delivery-errors';
import type {Delivery} from './delivery';
import {
  resolveLockedHandlerOptions,
  type LockedHandlerOptions,
} from './locked-handler-options';
import {observeHandlerRun} from '../telemetry/lock-telemetry';
import {Publisher} from './publisher';
import {requeueStateOf} from './requeue-attributes';
import {whenHeldWithoutRoom} from './requeue';
import {runHolding} from './run-holding';
import {identifierOrDeadLetter} from './unreadable-message';
import {deliverThroughWaitingRoom} from './waiting-room-delivery';

export {
  EarlyDeliveryError,
  LockStillHeldError,
  UnreadableMessageError,
} from './delivery-errors';
export {
  DEFAULT_HANDLER_LEASE_MS,
  DEFAULT_HANDOFF_LEASE_MS,
  DEFAULT_MAX_QUEUE_LENGTH,
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_REQUEUE_BACKOFF,
  type LockedHandlerOptions,
} from './locked-handler-options';
export {FUNCTION_TIMEOUT_MS} from './function-timeout';

/** The parts of a Pub/Sub CloudEvent (`google.cloud.pubsub.topic.v1.messagePublished`) used here. */
export interface PubSubCloudEvent {
  readonly id?: string;
  /** `//pubsub.googleapis.com/projects/PROJECT/topics/TOPIC` */
  readonly source?: string;
  readonly data?: {
    readonly message?: {
      /** base64 */
      readonly data?: string;
      readonly attributes?: Record<string, string>;
      readonly messageId?: string;
      /** Eventarc delivers it; the Functions Framework's conversion of a plain push drops it. */
      readonly orderingKey?: string;
    };
  };
}

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
export function lockedHandler<E extends PubSubCloudEvent>(
  options: LockedHandlerOptions<E>,
  handler: (event: E, held: Lock) => unknown,
): (event: E) => Promise<void> {
  return lockedHandlerIn(currentRuntime, options, handler);
}

/** `lockedHandler` taking its locks, and logging, through the runtime `runtimeOf` gives. */
export function lockedHandlerIn<E extends PubSubCloudEvent>(
  runtimeOf: RuntimeSource,
  options: LockedHandlerOptions<E>,
  handler: (event: E, held: Lock) => unknown,
): (event: E) => Promise<void> {
  const settings = resolveLockedHandlerOptions(options);
  const publisher = new Publisher(options.pubsub);

  return async (event: E) => {
    const startedAt = Date.now();
    const deadline = startedAt + settings.deadlineMs;
    const runtime = runtimeOf();
    const {logger, telemetry} = runtime.config;
    const message = event.data?.message ?? {};
    const state = requeueStateOf(message.attributes);
    const identifier = await identifierOrDeadLetter(
      event,
      options.identifier,
      settings.deadLetterTopic,
      publisher,
      logger,
      {kind: settings.kind, recordIdentifiers: telemetry.recordIdentifiers},
    );
    if (identifier === undefined) return;
    const context = {
      identifier,
      messageId: message.messageId ?? event.id,
      attempt: state.attempt,
    };

    const early = state.notBefore - Date.now();
    if (early > settings.earlyArrivalBudgetMs) {
      logger.info(
        'lockedHandler: early delivery, left to the subscription retry',
        {...context, outcome: 'early', earlyMs: Math.round(early)},
      );
      throw new EarlyDeliveryError(
        `message ${context.messageId} is due in ${Math.round(early)} ms`,
      );
    }
    if (early > 0) await sleep(early);

    const delivery: Delivery<E> = {
      event,
      message,
      identifier,
      context,
      subject: {
        kind: settings.kind,
        identifier,
        recordIdentifiers: telemetry.recordIdentifiers,
      },
      settings,
      publisher,
      logger,
      runtimeOf,
      startedAt,
      deadline,
      handler,
    };
    const room = settings.waitingRoom
      ? (await runtime.backend(settings.kind)).waitingRoom
      : undefined;
    if (room) return deliverThroughWaitingRoom(delivery, room);

    const held = await acquireIn(runtimeOf, identifier, {
      kind: settings.kind,
      wait: settings.wait && settings.waitBudgetMs > 0,
      waitForMs: settings.waitBudgetMs,
      ...(settings.stealAfterMs === undefined
        ? {}
        : {stealAfterMs: settings.stealAfterMs}),
      leaseMs: settings.leaseMs,
      autoRenew: true,
    });
    if (!held) return whenHeldWithoutRoom(delivery);
    logger.info('lockedHandler: running', {...context, outcome: 'ran'});
    return observeHandlerRun(delivery.subject, held.holderId, () =>
      runHolding(
        held,
        () => handler(event, held),
        deadline,
        () => held.release(),
        {logger, context},
      ),
    );
  };
}
