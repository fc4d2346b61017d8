/**
 * Hand-off: from the holder's release call to the next holder's grant in another process, for WEAK
 * locks on Valkey (push: the release publishes, the waiter is subscribed) and on memcached (the
 * waiter polls on the default backoff), on one machine in one run. The two processes take turns:
 * this one releases (the clock starts), the child is granted (it stops), holds HOLD_MS and
 * releases, and this one waits for it again. Only this process's releases are timed, so every
 * timed hand-off has a waiter that has been waiting for HOLD_MS (a polling one at its backoff's cap).
 *
 * Run alone: `node dist/test/bench/handoff.js [ROUNDS]` (it starts its own servers).
 */
import {join} from 'node:path';
import {Redis} from 'iovalkey';
import {Client} from 'memjs';
import {spawnChild} from '../../infra/spawn-and-wait';
import {startMemcached} from '../../infra/memcached';
import {startValkey} from '../../infra/valkey';
import type {RunningService} from '../../infra/processes';
import {
  configureLocking,
  Lock,
  LockKind,
  type LockingConfig,
} from '../../shared';
import {createValkeyBackend} from '../../shared/stores/valkey';
import {median, nowMs, percentile, round} from './stats';

export interface HandoffResult {
  readonly store: 'valkey' | 'memcached';
  readonly rounds: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly maxMs: number;
}

export const HOLD_MS = 300;

export async function handoff(
  store: 'valkey' | 'memcached',
  host: string,
  rounds: number,
): Promise<HandoffResult> {
  let close: () => void;
  let config: LockingConfig;
  if (store === 'valkey') {
    const client = new Redis(`redis://${host}`, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
    }).on('error', () => undefined);
    close = () => client.disconnect();
    config = {weak: createValkeyBackend(client)};
  } else {
    const client = Client.create(host, {logger: {log: () => undefined}});
    close = () => client.close();
    config = {memcache: client};
  }
  configureLocking(config);
  const identifier = `bench-handoff-${store}-${process.pid}-${Date.now()}`;
  // Taken before the child starts, so the turns alternate from the first.
  let held = await Lock.acquire(identifier, {kind: LockKind.WEAK});
  const grants: number[] = [];
  let nextGrant: (() => void) | undefined;
  const child = spawnChild(
    process.execPath,
    [join(__dirname, 'handoff-child.js')],
    {
      env: {
        ...process.env,
        STORE: store,
        STORE_HOST: host,
        IDENTIFIER: identifier,
        ROUNDS: String(rounds),
        HOLD_MS: String(HOLD_MS),
      },
      onOutput: (chunk, stream) => {
        if (stream !== 'stdout') return;
        for (const line of chunk.split('\n').filter(Boolean)) {
          grants.push((JSON.parse(line) as {grantedAt: number}).grantedAt);
          nextGrant?.();
        }
      },
    },
  );
  const samples: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      if (i > 0)
        held = await Lock.acquire(identifier, {
          kind: LockKind.WEAK,
          waitForMs: 30_000,
        });
      if (!held) throw new Error('the bench could not take the lock');
      // The child waits meanwhile (past its first round it has just released and asked again).
      await new Promise(resolve => setTimeout(resolve, HOLD_MS));
      const granted = new Promise<void>(resolve => (nextGrant = resolve));
      const releasedAt = nowMs();
      await held.release();
      await Promise.race([
        granted,
        child.closed.then(() => {
          throw new Error(`the child ended: ${child.output()}`);
        }),
      ]);
      samples.push((grants[grants.length - 1] as number) - releasedAt);
    }
    await child.closed;
  } finally {
    child.kill('SIGKILL');
    configureLocking();
    close();
  }
  return {
    store,
    rounds,
    medianMs: round(median(samples)),
    p95Ms: round(percentile(samples, 95)),
    maxMs: round(Math.max(...samples)),
  };
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? '40');
  const services: RunningService[] = [];
  try {
    const [valkey, memcached] = await Promise.all([
      startValkey(),
      startMemcached(),
    ]);
    services.push(valkey, memcached);
    for (const result of [
      await handoff('valkey', valkey.host, rounds),
      await handoff('memcached', memcached.host, rounds),
    ])
      console.log(JSON.stringify(result));
  } finally {
    await Promise.all(services.map(service => service.stop()));
  }
}

if (require.main === module)
  main().catch(error => {
    console.error(error);
    process.exitCode = 1;
  });
