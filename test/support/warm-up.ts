import { Lock, type LockKind } from '../../shared';
import { uniqueId } from './ids';

/**
 * One acquire, renewal and release before a timed test: a process's first call on a new gRPC
 * channel (and the emulator's precondition probe) can take longer than these short leases, and a
 * lease counts from before its acquire was sent.
 */
export async function warmUp(kind: LockKind): Promise<void> {
  const held = await Lock.acquire(uniqueId('warm-up'), { kind, leaseMs: 60_000 });
  await held?.renew();
  await held?.release();
}

