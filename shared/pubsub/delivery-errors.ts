/**
 * Errors lockedHandler throws to fail a delivery on purpose. A failed delivery is not
 * acknowledged: the subscription that delivered the message redelivers it after its retry
 * backoff, and after its maxDeliveryAttempts moves it to its dead-letter topic. Only that
 * subscription sees it again; nothing is dropped.
 */

/** The message arrived before its not-before time, by more than the early-arrival budget. */
export class EarlyDeliveryError extends Error {
  override readonly name = 'EarlyDeliveryError';
}

/**
 * The message's lock is still held and lockedHandler will not re-queue it: no `retryTopic` is
 * configured, or it was re-queued `maxAttempts` times and there is no `deadLetterTopic`.
 */
export class LockStillHeldError extends Error {
  override readonly name = 'LockStillHeldError';
}

/**
 * The message names no lock: the handler's `identifier(event)` threw, or answered something that is
 * not a lock identifier. It fails the same way on every delivery; there is no `deadLetterTopic`.
 */
export class UnreadableMessageError extends Error {
  override readonly name = 'UnreadableMessageError';
}
