import {Lock, LockKind} from '../../shared';
import {currentRuntime} from '../../shared/configuration/config';
import {BackendCallError} from '../../shared/core/errors';
import {delay, uniqueId} from './ids';

/**
 * One acquire, renewal and release before a timed test: a process's first call on a new gRPC
 * channel can take longer than these short leases, and a lease counts from before its acquire was
 * sent. On Datastore it also waits for the emulator's precondition probe, whose entity is written
 * as a lock (so cleanup would count it).
 */
export async function warmUp(kind: LockKind): Promise<void> {
  const held = await onceConnected(() =>
    Lock.acquire(uniqueId('warm-up'), {kind, leaseMs: 60_000}),
  );
  await held?.renew();
  await held?.release();
  if (kind !== LockKind.STRONG) return;
  const backend = (await currentRuntime().backend(kind)) as {
    preconditions?: {honoured(): Promise<boolean>};
  };
  await backend.preconditions?.honoured();
}

/**
 * `call`, tried again while it fails as an unavailable store does, for up to `withinMs`: on a busy
 * machine a cold channel's first call can fail before a connection is established ("UNAVAILABLE:
 * No connection established"), which is not what the test that warms up is about.
 */
export async function onceConnected<T>(
  call: () => Promise<T>,
  withinMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (
        !(error instanceof BackendCallError && error.retryable) ||
        Date.now() >= deadline
      )
        throw error;
      await delay(200);
    }
  }
}
