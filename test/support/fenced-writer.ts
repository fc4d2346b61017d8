/**
 * A holder that writes protected data with its fence only when resumed (SIGCONT), as a process
 * frozen mid-work would once it wakes: it never checks whether it still holds the lock first.
 * Acquires IDENTIFIER with LEASE_MS (renewing in the background) on the store its environment
 * names (DATASTORE_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT), then prints JSON lines:
 *   {event: "acquired", fence}                         fence as a string
 *   {event: "wrote"} or {event: "refused", code, message}   what fencedUpdate did with its write
 * and exits. The register is the entity FencedRegister/REGISTER_NAME.
 */
import {Datastore} from '@google-cloud/datastore';
import {fencedUpdate, Lock, LockError} from '../../shared';
import {requiredEnv, runAsProcess} from './worker-process';

function report(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const datastore = new Datastore();
  const key = datastore.key(['FencedRegister', requiredEnv('REGISTER_NAME')]);
  const held = await Lock.acquire(requiredEnv('IDENTIFIER'), {
    leaseMs: Number(requiredEnv('LEASE_MS')),
    autoRenew: true,
    wait: false,
  });
  if (!held) throw new Error('the lock was already held');
  const resumed = new Promise<void>(resolve =>
    process.once('SIGCONT', () => resolve()),
  );
  report({event: 'acquired', fence: String(held.fence)});
  // Keeps the process alive until the test resumes it.
  const alive = setInterval(() => undefined, 1000);
  await resumed;
  try {
    await fencedUpdate(datastore, key, held.fence, () => ({
      writer: 'paused holder',
    }));
    report({event: 'wrote'});
  } catch (error) {
    if (!(error instanceof LockError)) throw error;
    report({event: 'refused', code: error.code, message: error.message});
  }
  clearInterval(alive);
}

runAsProcess(main);
