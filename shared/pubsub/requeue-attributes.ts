/**
 * The attributes lockedHandler adds to a message it re-queues. Pub/Sub has no delayed delivery,
 * so the delay travels with the message as a not-before time.
 */
export const ATTEMPT_ATTRIBUTE = 'lock-attempt';
export const NOT_BEFORE_ATTRIBUTE = 'lock-not-before';
/**
 * The original message's ordering key, repeated as an attribute: a push through the Functions
 * Framework (a push subscription to the function's URL, as the retry subscription is) hands the
 * function only data and attributes, so the key would be lost after the first re-queue.
 */
export const ORDERING_KEY_ATTRIBUTE = 'lock-ordering-key';
/** Set on a message sent to the dead-letter topic. */
export const DEAD_LETTER_REASON_ATTRIBUTE = 'lock-dead-letter-reason';

export interface RequeueState {
  /** How many times the message was re-queued because its lock was held (0 for a first delivery). */
  readonly attempt: number;
  /** Not to be processed before this time (ms since the epoch); 0 for none. */
  readonly notBefore: number;
}

/** Missing or garbled attributes read as a first delivery, so a foreign message is never stuck. */
export function requeueStateOf(
  attributes: Record<string, string> | undefined,
): RequeueState {
  const attempt = Number(attributes?.[ATTEMPT_ATTRIBUTE] ?? 0);
  const notBefore = Number(attributes?.[NOT_BEFORE_ATTRIBUTE] ?? 0);
  return {
    attempt: Number.isSafeInteger(attempt) && attempt > 0 ? attempt : 0,
    notBefore: Number.isFinite(notBefore) && notBefore > 0 ? notBefore : 0,
  };
}

/** The message's ordering key: its own (Eventarc delivers it) or the one a re-queue carried over; '' for none. */
export function orderingKeyOf(message: {
  readonly orderingKey?: string;
  readonly attributes?: Record<string, string>;
}): string {
  return (
    message.orderingKey || message.attributes?.[ORDERING_KEY_ATTRIBUTE] || ''
  );
}

export function requeueAttributes(
  attributes: Record<string, string> | undefined,
  state: RequeueState,
  orderingKey = '',
): Record<string, string> {
  return {
    ...attributes,
    [ATTEMPT_ATTRIBUTE]: String(state.attempt),
    [NOT_BEFORE_ATTRIBUTE]: String(Math.ceil(state.notBefore)),
    ...(orderingKey ? {[ORDERING_KEY_ATTRIBUTE]: orderingKey} : {}),
  };
}
