import {Lock, LockKind} from '../../shared';
import {currentRuntime} from '../../shared/config';
import {uniqueId} from './ids';

/**
 * One acquire, renewal and release before a timed test: a process's first call on a new gRPC
 * channel can take longer than these short leases, and a lease counts from before its acquire was
 * sent. On Datastore it also waits for the emulator's precondition probe, whose entity is written
 * as a lock (so cleanup would count it).
 */
export async function warmUp(kind: LockKind): Promise<void> {
  const held = await Lock.acquire(uniqueId('warm-up'), {kind, leaseMs: 60_000});
  await held?.renew();
  await held?.release();
  if (kind !== LockKind.STRONG) return;
  const backend = (await currentRuntime().backend(kind)) as {
    preconditions?: {honoured(): Promise<boolean>};
  };
  await backend.preconditions?.honoured();
}
