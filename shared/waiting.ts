import { abandonAcquire, attemptAcquire, type AcquireMemory } from './attempts';
import type { AcquireRequest, LockBackend, LockRecord } from './backend';
import { fullJitterDelayMs, type BackoffPolicy, type RetryPolicy } from './backoff';
import type { LocalWaitQueue } from './local-queue';

export interface WaitSettings {
  readonly backend: LockBackend;
  readonly queue: LocalWaitQueue;
  readonly waitBackoff: BackoffPolicy;
  readonly retry: RetryPolicy;
}

/**
 * The one place that waits for a lock: poll, back off with full jitter, stop at the deadline.
 * `waitForMs` is overrun by at most the duration of the last attempt, because the last sleep is
 * cut to end at the deadline and one more attempt is made there.
 */
export async function acquireWithWaiting(
  settings: WaitSettings,
  request: AcquireRequest,
  wait: { wait: boolean; waitForMs: number | undefined },
): Promise<LockRecord | null> {
  const { backend, queue, retry, waitBackoff } = settings;
  const memory: AcquireMemory = { mayHoldIt: false };
  if (!wait.wait) {
    const outcome = await attemptAcquire(backend, request, retry, memory);
    if (outcome.acquired) return outcome.record;
    await abandonAcquire(backend, request, memory);
    return null;
  }

  const deadline = wait.waitForMs === undefined ? Infinity : Date.now() + wait.waitForMs;
  const turn = await queue.enter(backend.kind, request.identifier, String(request.stealAfterMs ?? ''), deadline);
  if (!turn) return null;
  try {
    for (let step = 0; ; step++) {
      const outcome = await attemptAcquire(backend, request, retry, memory);
      if (outcome.acquired) return outcome.record;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        await abandonAcquire(backend, request, memory);
        return null;
      }
      const wokenByLocalRelease = await turn.sleep(Math.min(remaining, fullJitterDelayMs(waitBackoff, step)));
      if (wokenByLocalRelease) step = -1;
    }
  } finally {
    turn.leave();
  }
}
