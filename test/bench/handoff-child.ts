/**
 * The other process of the hand-off bench (handoff.ts): STORE (valkey | memcached), STORE_HOST
 * (HOST:PORT), IDENTIFIER, ROUNDS, HOLD_MS. Each round it waits for the WEAK lock (default
 * backoff; on Valkey the push hand-off), prints {grantedAt} (ms, this host's clock, sub-ms), holds
 * it HOLD_MS, releases it, and waits until the bench holds it again.
 */
import {Redis} from 'iovalkey';
import {Client} from 'memjs';
import {
  configureLocking,
  Lock,
  LockKind,
  peek,
  type LockingConfig,
} from '../../shared';
import {createValkeyBackend} from '../../shared/stores/valkey';
import {requiredEnv, runAsProcess} from '../support/worker-process';
import {nowMs} from './stats';

async function main(): Promise<void> {
  const host = requiredEnv('STORE_HOST');
  let close: () => void;
  let config: LockingConfig;
  if (requiredEnv('STORE') === 'valkey') {
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
  const identifier = requiredEnv('IDENTIFIER');
  const holdMs = Number(requiredEnv('HOLD_MS'));
  for (let round = Number(requiredEnv('ROUNDS')); round > 0; round--) {
    const held = await Lock.acquire(identifier, {
      kind: LockKind.WEAK,
      waitForMs: 30_000,
    });
    const grantedAt = nowMs();
    if (!held) throw new Error('not granted within 30 s');
    process.stdout.write(`${JSON.stringify({grantedAt})}\n`);
    await new Promise(resolve => setTimeout(resolve, holdMs));
    await held.release();
    // The bench's turn: ask again only once it holds the lock, so each grant here is a hand-off.
    while (
      round > 1 &&
      (await peek(identifier, {kind: LockKind.WEAK})) === null
    )
      await new Promise(resolve => setTimeout(resolve, 5));
  }
  close();
}

runAsProcess(main);
