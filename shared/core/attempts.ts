import type {
  AcquireOutcome,
  AcquireRequest,
  LockBackend,
  LockRecord,
  RenewOutcome,
  RenewRequest,
} from './backend';
import {
  fullJitterDelayMs,
  sleep,
  unrefSleep,
  type RetryPolicy,
} from './backoff';
import {budgetLeftMs, outsideBudget, withCleanupGrace} from './budget';
import {BackendCallError} from './errors';

/**
 * One logical attempt at each backend operation, as the public API sees it: retryable store
 * failures are retried here (bounded), and a write whose outcome was unknown is resolved by
 * reading the lock back and comparing tokens. This is the only place store calls are retried.
 */

/**
 * What one acquire knows across all its attempts and polls: whether a write of its token may have
 * landed although the store never said so (the answer was lost). Such a write can land late, after
 * a later attempt already found the lock held, so this outlives any one attempt.
 */
export interface AcquireMemory {
  mayHoldIt: boolean;
}

export async function attemptAcquire(
  backend: LockBackend,
  request: AcquireRequest,
  policy: RetryPolicy,
  memory: AcquireMemory = {mayHoldIt: false},
): Promise<AcquireOutcome> {
  try {
    return await retrying(policy, async () => {
      try {
        const outcome = await backend.tryAcquire(request);
        if (outcome.acquired) return outcome;
        // A lock carrying our token is ours, however we learn of it: the token is unique to this acquire.
        if (outcome.holder?.token === request.token)
          return {acquired: true, record: outcome.holder};
        if (!memory.mayHoldIt) return outcome;
        // An earlier try may have written our lock before failing: the token tells whether it did.
        const holder =
          outcome.holder !== undefined
            ? outcome.holder
            : await backend.peek(request.identifier);
        if (holder?.token === request.token)
          return {acquired: true, record: holder};
        return {acquired: false, holder};
      } catch (error) {
        if (error instanceof BackendCallError && error.mayHaveApplied)
          memory.mayHoldIt = true;
        throw error;
      }
    });
  } catch (error) {
    // Contention that outlasted the retries means someone else is working on this lock: it is held.
    if (
      error instanceof BackendCallError &&
      error.contention &&
      !memory.mayHoldIt
    )
      return {acquired: false};
    // Giving up after a write that may have landed would leave a lock nobody knows they hold.
    await abandonAcquire(backend, request, memory);
    throw error;
  }
}

/**
 * Removes a lock of this acquire's token that may have landed unseen. One try within the budget's
 * grace, and, unless it removed the lock, more in the background (see keepAbandoning): the write
 * may still be on its way to a store that stalled, which applies it when it resumes, and a
 * cancelled RPC is no proof either (the store may have begun the write before the cancel).
 */
export async function abandonAcquire(
  backend: LockBackend,
  request: AcquireRequest,
  memory: AcquireMemory,
): Promise<void> {
  if (!memory.mayHoldIt) return;
  const outcome = await withCleanupGrace(() =>
    backend.release(request.identifier, request.token),
  ).catch(() => undefined);
  if (outcome !== 'released')
    void outsideBudget(() => keepAbandoning(backend, request));
}

/**
 * How long after a failed acquire its clean-up keeps trying: a store that answers again within this
 * has the failed grant removed within ABANDON_SETTLED_MS and a retry's backoff of answering.
 */
export const ABANDON_WINDOW_MS = 60_000;
/** How long the store must answer without our lock before the write is taken never to land. */
export const ABANDON_SETTLED_MS = 2_000;
const ABANDON_BACKOFF = {initialMs: 50, maxMs: 500, multiplier: 2} as const;

/**
 * Releases `request`'s token until the lock is removed, or until the store has answered for
 * ABANDON_SETTLED_MS that it has no lock of ours (a write in flight lands, or is dropped, when the
 * store works through what it received), or ABANDON_WINDOW_MS has passed. Never throws.
 */
async function keepAbandoning(
  backend: LockBackend,
  request: AcquireRequest,
): Promise<void> {
  const until = Date.now() + ABANDON_WINDOW_MS;
  let answeringSince: number | undefined;
  for (let attempt = 0; Date.now() < until; attempt++) {
    await unrefSleep(fullJitterDelayMs(ABANDON_BACKOFF, attempt));
    try {
      const outcome = await backend.release(request.identifier, request.token);
      if (outcome === 'released') return;
      answeringSince ??= Date.now();
      if (Date.now() - answeringSince >= ABANDON_SETTLED_MS) return;
    } catch {
      answeringSince = undefined;
    }
  }
}

/**
 * `true` when this token's lock was removed. After a delete whose outcome was unknown, finding no
 * lock at all means that delete landed.
 */
export async function attemptRelease(
  backend: LockBackend,
  identifier: string,
  token: string,
  policy: RetryPolicy,
  revision?: string,
): Promise<boolean> {
  let mayHaveReleased = false;
  return retrying(policy, async () => {
    try {
      const outcome = await backend.release(identifier, token, revision);
      return (
        outcome === 'released' || (outcome === 'absent' && mayHaveReleased)
      );
    } catch (error) {
      if (error instanceof BackendCallError && error.mayHaveApplied)
        mayHaveReleased = true;
      throw error;
    }
  });
}

/**
 * A renewal whose answer was lost may have landed: the retry then finds the lock at a newer version
 * than the holder knows, and the store reads it to see the token is still ours.
 */
export function attemptRenew(
  backend: LockBackend,
  request: RenewRequest,
  policy: RetryPolicy,
  grant?: LockRecord,
): Promise<RenewOutcome> {
  return retrying(policy, () => backend.renew(request, grant));
}

export function attemptPeek(
  backend: LockBackend,
  identifier: string,
  policy: RetryPolicy,
): Promise<LockRecord | null> {
  return retrying(policy, () => backend.peek(identifier));
}

/** Cleanup re-reads every lock before deleting it, so running it again after a failure is safe. */
export function attemptCleanup(
  cleanup: () => Promise<number>,
  policy: RetryPolicy,
): Promise<number> {
  return retrying(policy, cleanup);
}

/**
 * The one retry loop over store calls: `call` again with full-jitter backoff while `retryable`
 * says so (by default, any retryable BackendCallError), within the policy (or `maxAttemptsFor` the
 * error at hand, where some failures deserve more tries than others) and the caller's budget.
 */
export async function retrying<T>(
  policy: RetryPolicy,
  call: () => Promise<T>,
  retryable: (error: unknown) => boolean = error =>
    error instanceof BackendCallError && error.retryable,
  maxAttemptsFor: (error: unknown) => number = () => policy.maxAttempts,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!retryable(error) || attempt >= maxAttemptsFor(error)) throw error;
      const delayMs = fullJitterDelayMs(policy, attempt - 1);
      // No retry the caller's budget cannot pay for: it would only be cut short.
      if (delayMs >= budgetLeftMs()) throw error;
      await sleep(delayMs);
    }
  }
}
