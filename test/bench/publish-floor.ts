import {randomUUID} from 'node:crypto';
import {join} from 'node:path';
import {spawnChild} from '../../infra/spawn-and-wait';
import {median, nowMs, percentile, round} from './stats';
import {valkeyRedis} from './weak-clients';

/**
 * The floor under Valkey's hand-off to another process: one raw PUBLISH, from this process's
 * call to the message reaching a subscriber in another process that has been idle as long as the
 * hand-off's waiter (HOLD_MS). A push hand-off is this plus one acquire; what this takes on a busy
 * machine (waking an idle process) no lock can avoid.
 */
export async function publishFloor(
  host: string,
  rounds: number,
  idleMs: number,
): Promise<{medianMs: number; p95Ms: number; maxMs: number}> {
  const channel = `bench-publish-floor-${randomUUID()}`;
  const publisher = valkeyRedis(host);
  const received: number[] = [];
  let ready: () => void = () => undefined;
  let next: () => void = () => undefined;
  const isReady = new Promise<void>(resolve => (ready = resolve));
  const child = spawnChild(
    process.execPath,
    [join(__dirname, 'publish-floor-child.js')],
    {
      env: {...process.env, STORE_HOST: host, CHANNEL: channel},
      onOutput: (chunk, stream) => {
        if (stream !== 'stdout') return;
        for (const line of chunk.split('\n').filter(Boolean)) {
          const parsed = JSON.parse(line) as {receivedAt?: number};
          if (parsed.receivedAt === undefined) ready();
          else {
            received.push(parsed.receivedAt);
            next();
          }
        }
      },
    },
  );
  const ended = child.closed.then(() => {
    throw new Error(`the subscriber ended: ${child.output()}`);
  });
  ended.catch(() => undefined);
  const samples: number[] = [];
  try {
    await Promise.race([isReady, ended]);
    for (let i = 0; i < rounds; i++) {
      await new Promise(resolve => setTimeout(resolve, idleMs));
      const arrived = new Promise<void>(resolve => (next = resolve));
      const sentAt = nowMs();
      await publisher.call('PUBLISH', channel, 'x');
      await Promise.race([arrived, ended]);
      samples.push((received[received.length - 1] as number) - sentAt);
    }
    await publisher.call('PUBLISH', channel, 'end');
    await child.closed;
  } finally {
    child.kill('SIGKILL');
    publisher.disconnect();
  }
  return {
    medianMs: round(median(samples)),
    p95Ms: round(percentile(samples, 95)),
    maxMs: round(Math.max(...samples)),
  };
}
