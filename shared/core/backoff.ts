/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * the n-th delay is uniform in [0, min(maxMs, initialMs * multiplier^n)]. Full jitter spreads
 * waiters on different instances so they do not poll the store in lock step.
 */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
}

export interface RetryPolicy extends BackoffPolicy {
  /** Tries in all, the first included. */
  readonly maxAttempts: number;
}

/**
 * How a waiter polls a held lock. The first ceiling is 20 ms and it doubles to a cap of 250 ms, so a
 * lock released by another instance is noticed within 125 ms on average by one waiter, sooner by
 * several; a release in the same process wakes local waiters at once (see local-queue.ts).
 */
export const DEFAULT_WAIT_BACKOFF: BackoffPolicy = Object.freeze({
  initialMs: 20,
  maxMs: 250,
  multiplier: 2,
});

/** How a failed store call (contention, unavailability) is retried before the caller hears of it. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  initialMs: 50,
  maxMs: 500,
  multiplier: 2,
  maxAttempts: 3,
});

export function backoffCeilingMs(policy: BackoffPolicy, step: number): number {
  return Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** step);
}

export function fullJitterDelayMs(
  policy: BackoffPolicy,
  step: number,
  random: () => number = Math.random,
): number {
  return random() * backoffCeilingMs(policy, step);
}

/**
 * "Equal jitter": uniform in [ceiling/2, ceiling]. For re-queued messages, where a delay near 0
 * would only redeliver the message into the same held lock and pay for another invocation.
 */
export function equalJitterDelayMs(
  policy: BackoffPolicy,
  step: number,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeilingMs(policy, step);
  return ceiling / 2 + (random() * ceiling) / 2;
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** A pause that never keeps the process alive: for background work that is no reason to stay. */
export function unrefSleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms).unref());
}

/** A sleep that someone else can cut short; resolves `true` when it was woken early. */
export interface InterruptibleSleep {
  readonly done: Promise<boolean>;
  wake(): void;
}

export function interruptibleSleep(ms: number): InterruptibleSleep {
  let wake: () => void = () => undefined;
  const done = new Promise<boolean>(resolve => {
    const timer = setTimeout(() => resolve(false), ms);
    wake = () => {
      clearTimeout(timer);
      resolve(true);
    };
  });
  return {done, wake};
}
