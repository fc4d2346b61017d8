import {equalJitterDelayMs, sleep} from '../backoff';
import type {LockError} from '../errors';
import {currentRuntime} from '../config';
import {acquireIn, type Lock} from '../lock';
import type {LockLogger} from '../logger';
import type {RuntimeSource} from '../runtime';
import {EarlyDeliveryError, LockStillHeldError} from './delivery-errors';
import {
  resolveLockedHandlerOptions,
  type LockedHandlerOptions,
} from './locked-handler-options';
import {observeHandlerRun, observeRequeue} from '../telemetry/lock-telemetry';
import {Publisher} from './publisher';
import {
  DEAD_LETTER_REASON_ATTRIBUTE,
  orderingKeyOf,
  requeueAttributes,
  requeueStateOf,
} from './requeue-attributes';

export {EarlyDeliveryError, LockStillHeldError} from './delivery-errors';
export {
  DEFAULT_HANDLER_LEASE_MS,
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
 * - Held, `wait: false`: acknowledges the message without running the handler.
 * - Held, `wait: true`, with a `retryTopic`: re-publishes the message there (same data, attributes
 *   and ordering key, plus `lock-attempt` and `lock-not-before`), and acknowledges the original
 *   only once the publish succeeded: if it fails, the invocation throws and Pub/Sub redelivers.
 *   The retry topic is this handler's own, so other subscribers of the work topic never see copies.
 * - Held, `wait: true`, no `retryTopic`: fails the delivery (LockStillHeldError); the subscription
 *   redelivers the message to this function alone, after its retry backoff.
 * - After `maxAttempts` re-queues: dead-lettered, or without a dead-letter topic the delivery
 *   fails, so the subscription's dead-letter policy takes it. Never dropped, never looped forever.
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
    const deadline = Date.now() + settings.deadlineMs;
    const {logger, telemetry} = runtimeOf().config;
    const message = event.data?.message ?? {};
    const state = requeueStateOf(message.attributes);
    const identifier = options.identifier(event);
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

    const subject = {
      kind: settings.kind,
      identifier,
      recordIdentifiers: telemetry.recordIdentifiers,
    };
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
    if (held) {
      logger.info('lockedHandler: running', {...context, outcome: 'ran'});
      return observeHandlerRun(subject, held.holderId, () =>
        runHolding(held, () => handler(event, held), deadline, {
          logger,
          context,
        }),
      );
    }
    if (!settings.wait) {
      logger.info('lockedHandler: lock held, message dropped (wait: false)', {
        ...context,
        outcome: 'dropped',
      });
      return;
    }
    if (!settings.retryTopic) {
      logger.info(
        'lockedHandler: lock held, delivery failed so the subscription redelivers it (no retryTopic)',
        {...context, outcome: 'redelivery'},
      );
      throw new LockStillHeldError(
        `message ${context.messageId}: lock ${JSON.stringify(identifier)} is held; left to the subscription's retry policy`,
      );
    }

    const data = Buffer.from(message.data ?? '', 'base64');
    const orderingKey = orderingKeyOf(message);
    if (state.attempt >= settings.maxAttempts) {
      if (!settings.deadLetterTopic) {
        logger.error(
          "lockedHandler: lock still held after maxAttempts and no deadLetterTopic; delivery failed, so the subscription's retry and dead-letter policy keep the message",
          {
            ...context,
            outcome: 'max_attempts_redelivery',
            maxAttempts: settings.maxAttempts,
          },
        );
        throw new LockStillHeldError(
          `message ${context.messageId}: lock ${JSON.stringify(identifier)} still held after ${settings.maxAttempts} re-queues`,
        );
      }
      const attributes = {
        ...requeueAttributes(message.attributes, state, orderingKey),
        [DEAD_LETTER_REASON_ATTRIBUTE]: 'lock_held',
      };
      const deadLetterTopic = settings.deadLetterTopic;
      await observeRequeue(subject, 'dead_letter', () =>
        publisher.publish(deadLetterTopic, data, attributes, orderingKey),
      );
      logger.warn(
        'lockedHandler: lock still held after maxAttempts; message dead-lettered',
        {...context, outcome: 'dead_lettered'},
      );
      return;
    }

    const attempt = state.attempt + 1;
    const delayMs = equalJitterDelayMs(settings.backoff, attempt - 1);
    const retryTopic = settings.retryTopic;
    await observeRequeue(subject, 'requeue', () =>
      publisher.publish(
        retryTopic,
        data,
        requeueAttributes(
          message.attributes,
          {attempt, notBefore: Date.now() + delayMs},
          orderingKey,
        ),
        orderingKey,
      ),
    );
    logger.info('lockedHandler: lock held, message re-queued', {
      ...context,
      outcome: 'requeued',
      nextAttempt: attempt,
      delayMs: Math.round(delayMs),
    });
  };
}

/**
 * Runs `fn` holding the lock; always releases. Renewal stops at `deadline`: past it the platform has
 * ended the invocation, and an instance it left running must not keep the lock alive. A lock lost
 * while `fn` ran fails the invocation, so the message comes back. A failed release is logged, not
 * thrown: the work is done, and redelivery would repeat it.
 */
async function runHolding(
  held: Lock,
  fn: () => unknown,
  deadline: number,
  {logger, context}: {logger: LockLogger; context: Record<string, unknown>},
): Promise<void> {
  const renewalDeadline = setTimeout(
    () => held.stopRenewing(),
    Math.max(0, deadline - Date.now()),
  );
  renewalDeadline.unref();
  let failed = true;
  try {
    await fn();
    failed = false;
  } finally {
    clearTimeout(renewalDeadline);
    await held.release().catch((error: unknown) => {
      logger.error(
        'lockedHandler: release failed; the lock stays until its lease runs out',
        {...context, detail: (error as Error)?.message},
      );
    });
  }
  // release() answering false aborts the signal too. When fn threw, its own error is the one to see.
  if (!failed && held.signal.aborted) {
    logger.error(
      'lockedHandler: the lock was lost while the handler ran; delivery failed, so Pub/Sub redelivers the message',
      {...context, outcome: 'lock_lost'},
    );
    throw held.signal.reason as LockError;
  }
}
