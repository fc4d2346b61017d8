import {Firestore} from '@google-cloud/firestore';
import {configureLocking, Lock, LockKind} from '../../shared';
import {requiredEnv} from './worker-process';

/**
 * A process that waits for a lock another holds, gives up after WAIT_FOR_MS, prints what it got,
 * and then simply returns: no process.exit, so the test sees whether anything (a listener) keeps
 * the process alive after its waiters are gone.
 */
async function main(): Promise<void> {
  const firestore = new Firestore({
    projectId: requiredEnv('PROJECT'),
    host: requiredEnv('FIRESTORE_HOST'),
    ssl: false,
    customHeaders: {Authorization: 'Bearer owner'},
  });
  configureLocking({firestore, namespace: requiredEnv('NAMESPACE')});
  const got = await Lock.acquire(requiredEnv('IDENTIFIER'), {
    kind: LockKind.STRONG,
    waitForMs: Number(requiredEnv('WAIT_FOR_MS')),
  });
  process.stdout.write(got ? 'acquired\n' : 'gave up\n');
  await got?.release();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
