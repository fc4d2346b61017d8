import {sleep} from '../core/backoff';
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
 * `lockedHandler` taking its locks, and logging, through the runtime `runtimeOf` gives.
 * @internal
 */
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
