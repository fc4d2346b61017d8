import {equalJitterDelayMs} from '../core/backoff';
import {observeRequeue} from '../telemetry/lock-telemetry';
import {LockStillHeldError} from './delivery-errors';
import type {Delivery} from './delivery';
import {
  DEAD_LETTER_REASON_ATTRIBUTE,
  orderingKeyOf,
  requeueAttributes,
  requeueStateOf,
} from './requeue-attributes';
import {parkedAttributes} from './wake-up';

/**
 * A message whose lock is held and that does not wait in a waiting room: dropped (`wait: false`),
 * left to the subscription's redelivery (no retry topic), re-published to the retry topic with
 * backoff, or, after `maxAttempts`, dead-lettered. The original is acknowledged only once a
 * publish succeeded: a failed publish throws, and Pub/Sub redelivers it.
 */
export async function whenHeldWithoutRoom<E>(
  delivery: Delivery<E>,
): Promise<void> {
  const {settings, logger, context, identifier, message, subject, publisher} =
    delivery;
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
  // A wake-up that found its parked record gone carries its old park attributes: not again.
  const ownAttributes = parkedAttributes(message.attributes);
  const state = requeueStateOf(message.attributes);
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
      ...requeueAttributes(ownAttributes, state, orderingKey),
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
        ownAttributes,
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
}
