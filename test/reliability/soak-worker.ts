/**
 * One soak "instance": CYCLES acquire / critical section / release cycles over IDENTIFIERS locks,
 * each with a random stealAfterMs far above the critical section. Inside the lock it increments a
 * counter entity without a transaction, so only the lock keeps updates from being lost. Stops early
 * at DEADLINE (epoch ms) so the run stays bounded. Configured by the environment alone.
 *
 * Prints one JSON line per cycle: {identifier, fence, enteredAt, leftAt, released}.
 */
import {Datastore} from '@google-cloud/datastore';
import {performance} from 'node:perf_hooks';
import {Lock} from '../../shared';
import {
  incrementWithoutTransaction,
  requiredEnv,
  runAsProcess,
} from '../support/worker-process';

const run = requiredEnv('SOAK_RUN');
const cycles = Number(requiredEnv('CYCLES'));
const identifiers = Number(requiredEnv('IDENTIFIERS'));
const deadline = Number(requiredEnv('DEADLINE'));
const datastore = new Datastore();
const now = () => performance.timeOrigin + performance.now();

async function cycle(): Promise<void> {
  const identifier = Math.floor(Math.random() * identifiers);
  // 20..60 s: a steal would need a critical section thousands of times longer than this one.
  const stealAfterMs = 20_000 + Math.floor(Math.random() * 40_000);
  const held = await Lock.acquire(`soak:${run}:${identifier}`, {stealAfterMs});
  if (!held)
    throw new Error('acquire with wait: true and no waitForMs resolved null');
  const enteredAt = now();
  const key = datastore.key(['SoakCounter', `${run}:${identifier}`]);
  await incrementWithoutTransaction(datastore, key, Math.random() * 2);
  const leftAt = now();
  const released = await held.release();
  process.stdout.write(
    `${JSON.stringify({identifier, fence: String(held.fence), enteredAt, leftAt, released})}\n`,
  );
}

async function main(): Promise<void> {
  for (let i = 0; i < cycles && Date.now() < deadline; i++) await cycle();
}

runAsProcess(main);
