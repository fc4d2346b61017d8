import {
  abandonAcquire,
  attemptAcquire,
  attemptRelease,
  type AcquireMemory,
} from './attempts';
import {BUDGET_GRACE_MS, withCleanupGrace, withinBudget} from './budget';
import type {
  AcquireRequest,
  LockBackend,
  LockRecord,
  LockWatch,
} from './backend';
import {
  fullJitterDelayMs,
  type BackoffPolicy,
  type RetryPolicy,
} from './backoff';
import type {LocalWaitQueue} from './local-queue';
import type {Takeover} from './taking-rules';

/** A won acquire: the lock's record, and whether the grant took the lock over from another holder. */
export interface Grant {
  readonly record: LockRecord;
  readonly takeover?: Takeover | undefined;
}

export interface WaitSettings {
  readonly backend: LockBackend;
  readonly queue: LocalWaitQueue;
  readonly waitBackoff: BackoffPolicy;
  readonly retry: RetryPolicy;
}

/** How long and whether to wait; `signal` stops the wait from outside (a client that went away). */
export interface WaitOptions {
  readonly wait: boolean;
  readonly waitForMs: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * How often a waiter polls while the store's listener for the lock is healthy. The listener tells
 * it of every change that can free the lock (and timers, of the moments time alone frees it), so
 * this poll only covers a change the stream lost without failing (a stall the client rides out by
 * reconnecting on its own): at worst that hand-off is late by this much. Each poll costs a refused
 * create and a billed read, so at 5 s a waiter costs 12 reads a minute instead of about 6 a second
 * on the backoff (20 ms doubling to a 250 ms cap, full jitter). Never past the waiter's deadline:
 * its last poll is made at it.
 */
export const LISTENED_SAFETY_POLL_MS = 5_000;

/**
 * The one place that waits for a lock: poll, back off with full jitter (or, while the store's
 * listener is healthy, poll when it tells of a change and at LISTENED_SAFETY_POLL_MS), stop at the
 * deadline or when `signal` aborts. `waitForMs` is a budget for the whole acquire: every store call is bounded
 * by what is left of it plus a grace for the last attempt (see budget.ts), so a store that hangs
 * cannot stretch it; with `wait: false` it bounds the one attempt.
 *
 * Giving up (deadline, abort) after a write of ours may have landed unseen removes that write. A
 * grant that arrives after `signal` aborted is released at once and reported as not acquired.
 */
export async function acquireWithWaiting(
  settings: WaitSettings,
  request: AcquireRequest,
  wait: WaitOptions,
): Promise<Grant | null> {
  if (wait.signal?.aborted) return null;
  const deadline =
    wait.waitForMs === undefined ? Infinity : Date.now() + wait.waitForMs;
  const grant = await withinBudget(deadline + BUDGET_GRACE_MS, () =>
    poll(settings, request, wait, deadline),
  );
  if (grant && wait.signal?.aborted) {
    await withCleanupGrace(() =>
      attemptRelease(
        settings.backend,
        request.identifier,
        request.token,
        settings.retry,
        grant.record.revision,
      ),
    ).catch(() => undefined);
    return null;
  }
  return grant;
}

async function poll(
  settings: WaitSettings,
  request: AcquireRequest,
  wait: WaitOptions,
  deadline: number,
): Promise<Grant | null> {
  const {backend, queue, retry, waitBackoff} = settings;
  const memory: AcquireMemory = {mayHoldIt: false};
  const giveUp = async () => {
    await abandonAcquire(backend, request, memory);
    return null;
  };
  if (!wait.wait) {
    const outcome = await attemptAcquire(backend, request, retry, memory);
    return outcome.acquired ? outcome : giveUp();
  }

  const turn = await queue.enter(
    backend.kind,
    request.identifier,
    String(request.stealAfterMs ?? ''),
    deadline,
    wait.signal,
  );
  if (!turn) return null;
  const wakeOnAbort = () => turn.wakeSleeper();
  wait.signal?.addEventListener('abort', wakeOnAbort, {once: true});
  // Where the store pushes changes, the poller (one per steal group; the backend shares one
  // listener per lock among them) is told the moment the lock may be takeable, and while that
  // stream is healthy it polls only then and at a slow safety interval. Only once it has found the
  // lock held: an uncontended acquire opens no listener.
  let watch: LockWatch | undefined;
  try {
    for (let step = 0; ; step++) {
      const outcome = await attemptAcquire(backend, request, retry, memory);
      if (outcome.acquired) return outcome;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || wait.signal?.aborted) return giveUp();
      watch ??= backend.watch?.(
        request.identifier,
        () => turn.nudge(),
        request.stealAfterMs,
      );
      const pauseMs = watch?.healthy
        ? LISTENED_SAFETY_POLL_MS
        : fullJitterDelayMs(waitBackoff, step);
      const woken = await turn.sleep(Math.min(remaining, pauseMs));
      if (wait.signal?.aborted) return giveUp();
      if (woken) step = -1;
    }
  } finally {
    watch?.stop();
    wait.signal?.removeEventListener('abort', wakeOnAbort);
    turn.leave();
  }
}
