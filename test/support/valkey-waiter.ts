/**
 * A second process waiting for a WEAK lock on Valkey, for the push hand-off test and the bench.
 * VALKEY_URL, IDENTIFIER; ROUNDS (default 1): acquire, report, release, that many times.
 * JSON lines on stdout (times on this host's clock, ms): {attemptAt} for each acquire script sent,
 * and {grantedAt, attempts} for each grant (attempts: the acquire scripts sent for it).
 */
import {Redis} from 'iovalkey';
import {configureLocking, Lock, LockKind} from '../../shared';
import {createValkeyBackend} from '../../shared/stores/valkey';
import {ACQUIRE} from '../../shared/stores/valkey/lua-scripts';
import {requiredEnv, runAsProcess} from './worker-process';

async function main(): Promise<void> {
  const client = new Redis(requiredEnv('VALKEY_URL'), {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
  }).on('error', () => undefined);
  let attempts = 0;
  const call = client.call.bind(client) as (
    ...args: (string | number)[]
  ) => Promise<unknown>;
  (client as unknown as {call: typeof call}).call = (...args) => {
    if (args[1] === ACQUIRE.sha) {
      attempts++;
      process.stdout.write(`${JSON.stringify({attemptAt: Date.now()})}\n`);
    }
    return call(...args);
  };
  configureLocking({weak: createValkeyBackend(client)});
  const rounds = Number(process.env.ROUNDS ?? '1');
  for (let round = 0; round < rounds; round++) {
    attempts = 0;
    const held = await Lock.acquire(requiredEnv('IDENTIFIER'), {
      kind: LockKind.WEAK,
      waitForMs: 20_000,
    });
    const grantedAt = Date.now();
    if (!held) throw new Error('not granted within 20 s');
    process.stdout.write(`${JSON.stringify({grantedAt, attempts})}\n`);
    await held.release();
  }
  client.disconnect();
}

runAsProcess(main);
