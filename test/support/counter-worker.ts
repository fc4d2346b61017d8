/**
 * One "instance" of the counter test: a separate OS process that increments a shared counter
 * entity without a transaction, inside lock(...).run. Only the lock keeps the read-modify-write
 * from losing updates. Configured by the environment alone, as a Cloud Function would be
 * (DATASTORE_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT), so it exercises zero-configuration too.
 *
 * Prints one JSON line per critical section: {fence, enteredAt, leftAt} (ms, sub-ms precision).
 */
import {Datastore} from '@google-cloud/datastore';
import {performance} from 'node:perf_hooks';
import {lock, peek} from '../../shared';
import {
  incrementWithoutTransaction,
  requiredEnv,
  runAsProcess,
} from './worker-process';

const counterName = requiredEnv('COUNTER_ID');
const iterations = Number(requiredEnv('ITERATIONS'));
const datastore = new Datastore();
const counterKey = datastore.key(['Counter', counterName]);
const now = () => performance.timeOrigin + performance.now();

async function incrementOnce(): Promise<void> {
  await lock(`counter:${counterName}`).run(async () => {
    const enteredAt = now();
    const holder = await peek(`counter:${counterName}`);
    await incrementWithoutTransaction(
      datastore,
      counterKey,
      2 + Math.random() * 3,
    );
    process.stdout.write(
      `${JSON.stringify({fence: String(holder?.fence), enteredAt, leftAt: now()})}\n`,
    );
  });
}

async function main(): Promise<void> {
  for (let i = 0; i < iterations; i++) await incrementOnce();
}

runAsProcess(main);
