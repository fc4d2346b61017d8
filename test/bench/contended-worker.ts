/**
 * One "instance" of the contended benchmark: a process with WAITERS concurrent waiters on one
 * identifier, each taking the lock ITERATIONS times for a CRITICAL_MS critical section. Prints
 * one JSON line per grant: {grantedAt, releasedAt} (ms since the epoch, sub-ms precision).
 */
import { Datastore } from '@google-cloud/datastore';
import { floor, ourStrong, peer, type Contender } from './contenders';
import { nowMs } from './stats';

const contenderName = process.env.CONTENDER as string;
const identifier = process.env.IDENTIFIER as string;
const waiters = Number(process.env.WAITERS);
const iterations = Number(process.env.ITERATIONS);
const criticalMs = Number(process.env.CRITICAL_MS);

function contender(): Contender {
  if (contenderName === 'ours') return ourStrong(new Datastore());
  if (contenderName === 'peer') return peer();
  if (contenderName === 'floor') return floor(new Datastore());
  throw new Error(`unknown contender ${contenderName}`);
}

async function main(): Promise<void> {
  const lock = contender();
  await Promise.all(
    Array.from({ length: waiters }, async () => {
      for (let i = 0; i < iterations; i++) {
        const release = await lock.acquire(identifier);
        const grantedAt = nowMs();
        await new Promise((resolve) => setTimeout(resolve, criticalMs));
        const releasedAt = nowMs();
        await release();
        process.stdout.write(`${JSON.stringify({ grantedAt, releasedAt })}\n`);
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ failures: lock.failures })}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
