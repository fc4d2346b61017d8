import type {LockError} from '../core/errors';
import type {Lock} from '../core/lock';
import type {LockLogger} from '../telemetry/logger';

/**
 * Runs `fn` holding the lock; always releases (with `release`: the lock's own, or the waiting
 * room's hand-off). Renewal stops at `deadline`: past it the platform has ended the invocation,
 * and an instance it left running must not keep the lock alive. A lock lost while `fn` ran fails
 * the invocation, so the message comes back. A failed release is logged, not thrown: the work is
 * done, and redelivery would repeat it.
 */
export async function runHolding(
  held: Lock,
  fn: () => unknown,
  deadline: number,
  release: () => Promise<boolean>,
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
    await release().catch((error: unknown) => {
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
