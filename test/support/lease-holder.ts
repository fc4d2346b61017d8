/**
 * A holder process with a renewing lease, for tests that pause or kill it. Acquires IDENTIFIER
 * with LEASE_MS and autoRenew (KIND: STRONG or WEAK; the store from DATASTORE_EMULATOR_HOST or
 * MEMCACHE_SERVERS, as a Cloud Function would find it), then reports what happens to it as JSON
 * lines on stdout, each with `at` (this host's clock, ms):
 *   {event: "acquired", holderId, acquiredAt, expiresAt, fence}   fence as a string, STRONG only (the token stays here)
 *   {event: "renewed", expiresAt}           a renewal extended the lease (seen within ~25 ms)
 *   {event: "lost", code}                   the lock's signal aborted
 *   {event: "released", released}           what release() answered after the loss
 * and exits. It never releases while it still believes it holds the lock: a test ends it.
 */
import {Lock, LockKind, type LockError} from '../../shared';
import {requiredEnv, runAsProcess} from './worker-process';
import {whenAborted} from './when-aborted';

function report(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({...line, at: Date.now()})}\n`);
}

async function main(): Promise<void> {
  const identifier = requiredEnv('IDENTIFIER');
  const kind = requiredEnv('KIND') === 'WEAK' ? LockKind.WEAK : LockKind.STRONG;
  const leaseMs = Number(requiredEnv('LEASE_MS'));
  const held = await Lock.acquire(identifier, {
    kind,
    leaseMs,
    autoRenew: true,
    wait: false,
  });
  if (!held) throw new Error(`${identifier} was already held`);
  report({
    event: 'acquired',
    holderId: held.holderId,
    acquiredAt: held.acquiredAt.getTime(),
    expiresAt: held.expiresAt?.getTime(),
    ...(held.fence === undefined ? {} : {fence: String(held.fence)}),
  });
  // Also keeps the process alive: the keeper's own timers do not, by design.
  let expiresAt = held.expiresAt?.getTime();
  const watch = setInterval(() => {
    const now = held.expiresAt?.getTime();
    if (now !== expiresAt)
      report({event: 'renewed', expiresAt: (expiresAt = now)});
  }, 25);
  await whenAborted(held.signal);
  report({event: 'lost', code: (held.signal.reason as LockError).code});
  report({event: 'released', released: await held.release()});
  clearInterval(watch);
}

runAsProcess(main);
