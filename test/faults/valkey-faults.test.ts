import {strict as assert} from 'node:assert';
import {Redis} from 'iovalkey';
import {startValkey} from '../../infra/valkey';
import type {RunningService} from '../../infra/processes';
import {createLocking, LockError, LockKind} from '../../shared';
import {createValkeyBackend} from '../../shared/stores/valkey';
import {uniqueId} from '../support/ids';
import {RecordingLogger} from '../support/recording-logger';

const WEAK = {kind: LockKind.WEAK} as const;

/** A client as the library builds its own (default-client.ts), on a server of the test's own. */
function clientOf(server: RunningService): Redis {
  return new Redis(`redis://${server.host}`, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 1000,
  }).on('error', () => undefined);
}

/** Valkey's faults on servers started for each test. */
describe('WEAK locks on Valkey: faults', () => {
  let server: RunningService | undefined;
  let client: Redis | undefined;

  afterEach(async () => {
    client?.disconnect();
    client = undefined;
    await server?.stop();
    server = undefined;
  });

  it('a killed server is BACKEND_UNAVAILABLE within a second, not after the client reconnects', async () => {
    server = await startValkey();
    client = clientOf(server);
    const locking = createLocking({
      weak: createValkeyBackend(client, {rpcTimeoutMs: 2000}),
      retry: {initialMs: 5, maxMs: 20, maxAttempts: 3},
    });
    const held = await locking.acquire(uniqueId('valkey-killed'), WEAK);
    assert.ok(held, 'granted while the server runs');
    await server.stop();
    server = undefined;
    const started = Date.now();
    await assert.rejects(
      locking.acquire(uniqueId('valkey-killed-2'), WEAK),
      (error: unknown) =>
        error instanceof LockError && error.code === 'BACKEND_UNAVAILABLE',
    );
    const took = Date.now() - started;
    assert.ok(took < 1000, `took ${took} ms`);
  });

  it('a maxmemory-policy that evicts lock keys is warned at first use, once', async () => {
    server = await startValkey({
      extraArgs: ['--maxmemory-policy', 'volatile-lru'],
    });
    client = clientOf(server);
    const logger = new RecordingLogger();
    const backend = await createValkeyBackend(client, {logger});
    const locking = createLocking({weak: backend});
    const held = await locking.acquire(uniqueId('valkey-evict'), WEAK);
    assert.ok(held);
    await held.release();
    const warnings = logger.entries.filter(entry => entry.level === 'warn');
    assert.equal(warnings.length, 1, logger.text());
    assert.match(warnings[0]!.message, /volatile-lru.*noeviction/);
  });

  it('noeviction warns nothing; CONFIG disabled (as on Memorystore) is noted at debug level and locks still work', async () => {
    server = await startValkey({extraArgs: ['--rename-command', 'CONFIG', '']});
    client = clientOf(server);
    const logger = new RecordingLogger();
    const locking = createLocking({
      weak: createValkeyBackend(client, {logger}),
    });
    const held = await locking.acquire(uniqueId('valkey-no-config'), WEAK);
    assert.ok(held);
    assert.equal(await held.release(), true);
    await new Promise(resolve => setTimeout(resolve, 50));
    assert.deepEqual(
      logger.entries.map(entry => entry.level),
      ['debug'],
      logger.text(),
    );
  });

  it('a restart without persistence loses the locks and starts the fences again (documented: WEAK)', async () => {
    server = await startValkey();
    const port = server.port;
    client = clientOf(server);
    const backend = await createValkeyBackend(client);
    const id = uniqueId('valkey-restart');
    const first = await backend.tryAcquire({identifier: id, token: 'a'});
    assert.ok(first.acquired);
    const before = await backend.fenceOf(id, 'a');
    await server.stop();
    server = await startValkey({port});
    // Until the client has reconnected, calls are refused at once.
    for (let i = 0; i < 50 && client.status !== 'ready'; i++)
      await new Promise(resolve => setTimeout(resolve, 100));
    assert.equal(await backend.peek(id), null, 'the lock is gone');
    const second = await backend.tryAcquire({identifier: id, token: 'b'});
    assert.ok(second.acquired, 'a second holder gets in');
    assert.equal(await backend.fenceOf(id, 'b'), before, 'the fence repeats');
  });
});
