import type {LockKind} from '../core/kinds';
import type {LockLogger} from '../telemetry/logger';
import {observeRequeue} from '../telemetry/lock-telemetry';
import {validateIdentifier} from '../validation/identifier';
import {UnreadableMessageError} from './delivery-errors';
import type {PubSubCloudEvent} from './locked-handler';
import type {Publisher} from './publisher';
import {
  DEAD_LETTER_REASON_ATTRIBUTE,
  orderingKeyOf,
} from './requeue-attributes';

/** Set beside the dead-letter reason on a message whose lock identifier could not be read. */
export const DEAD_LETTER_DETAIL_ATTRIBUTE = 'lock-dead-letter-detail';

/** Pub/Sub allows 1,024 bytes per attribute value; the detail is for a person, so it is cut short. */
const MAX_DETAIL_CHARS = 500;

/**
 * The message's lock identifier, or `undefined` when the message was dead-lettered because it has
 * none: `identifier(event)` threw, or answered something that cannot name a lock (not a string,
 * empty, too long). Such a message fails the same way on every delivery, so redelivering it would
 * only loop. With a dead-letter topic it goes there, marked `bad_message` with the reason, and is
 * acknowledged; without one the delivery fails with UnreadableMessageError, and the subscription's
 * own dead-letter policy (maxDeliveryAttempts) takes it. Never dropped.
 */
export async function identifierOrDeadLetter<E extends PubSubCloudEvent>(
  event: E,
  identifierOf: (event: E) => string,
  deadLetterTopic: string | undefined,
  publisher: Publisher,
  logger: LockLogger,
  /** For the dead letter's span and count; there is no identifier to record. */
  subject: {readonly kind: LockKind; readonly recordIdentifiers: boolean},
): Promise<string | undefined> {
  const message = event.data?.message ?? {};
  let problem: string;
  try {
    const identifier: unknown = identifierOf(event);
    validateIdentifier(identifier);
    return identifier;
  } catch (error) {
    problem = (error as Error)?.message ?? String(error);
  }
  const context = {
    messageId: message.messageId ?? event.id,
    detail: problem,
  };
  if (!deadLetterTopic) {
    logger.error(
      "lockedHandler: the message's lock identifier could not be read and there is no deadLetterTopic; delivery failed, so the subscription's dead-letter policy takes it",
      {...context, outcome: 'unreadable_redelivery'},
    );
    throw new UnreadableMessageError(
      `message ${context.messageId}: no lock identifier: ${problem}`,
    );
  }
  const orderingKey = orderingKeyOf(message);
  await observeRequeue(
    subject,
    'dead_letter',
    () =>
      publisher.publish(
        deadLetterTopic,
        Buffer.from(message.data ?? '', 'base64'),
        {
          ...message.attributes,
          [DEAD_LETTER_REASON_ATTRIBUTE]: 'bad_message',
          [DEAD_LETTER_DETAIL_ATTRIBUTE]: problem.slice(0, MAX_DETAIL_CHARS),
        },
        orderingKey,
      ),
    'bad_message',
  );
  logger.warn(
    "lockedHandler: the message's lock identifier could not be read; dead-lettered",
    {...context, outcome: 'dead_lettered'},
  );
  return undefined;
}
