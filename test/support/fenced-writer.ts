/**
 * A holder that writes protected data with its fence only when resumed (SIGCONT), as a process
 * frozen mid-work would once it wakes: it never checks whether it still holds the lock first.
 * Acquires IDENTIFIER with LEASE_MS (renewing in the background) on STORE (default `datastore`:
 * the emulator its environment names, DATASTORE_EMULATOR_HOST and GOOGLE_CLOUD_PROJECT;
 * `firestore`: the test run's native-mode emulator), in NAMESPACE if given, then prints JSON lines:
 *   {event: "acquired", fence}                         fence as a string
 *   {event: "wrote"} or {event: "refused", code, message}   what its fenced write did
 * and exits. With REGISTER_NAME, the write is `fencedUpdate` of the entity FencedRegister/REGISTER_NAME;
 * with ACCOUNT, `held.fencedUpdate` adding 1 to Account/ACCOUNT's balance, once-key "paused-event".
 */
import {Datastore} from '@google-cloud/datastore';
import {configureLocking, Lock, LockError} from '../../shared';
import {fencedUpdate} from '../../shared/stores/datastore';
import {firestoreNativeClient} from './firestore-native-target';
import {requiredEnv, runAsProcess} from './worker-process';

function report(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const namespace = process.env.NAMESPACE || undefined;
  const datastore = new Datastore(namespace ? {namespace} : {});
  configureLocking(
    process.env.STORE === 'firestore'
      ? {firestore: firestoreNativeClient(), namespace}
      : {datastore},
  );
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
    const register = process.env.REGISTER_NAME;
    if (register)
      await fencedUpdate(
        datastore,
        datastore.key(['FencedRegister', register]),
        held.fence,
        () => ({writer: 'paused holder'}),
      );
    else
      await held.fencedUpdate(
        ['Account', requiredEnv('ACCOUNT')],
        current => ({balance: Number(current?.balance ?? 0) + 1}),
        {onceKey: 'paused-event'},
      );
    report({event: 'wrote'});
  } catch (error) {
    if (!(error instanceof LockError)) throw error;
    report({event: 'refused', code: error.code, message: error.message});
  }
  clearInterval(alive);
}

runAsProcess(main);
