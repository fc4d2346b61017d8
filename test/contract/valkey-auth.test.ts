import {strict as assert} from 'node:assert';
import {spawnSync} from 'node:child_process';
import {join} from 'node:path';
import {Redis} from 'iovalkey';
import sinon from 'sinon';
import {configureLocking, Lock, LockError, LockKind} from '../../shared';
import * as defaultClient from '../../shared/stores/valkey/default-client';
import * as iamPassword from '../../shared/stores/valkey/iam-password';
import type {ValkeyClient} from '../../shared/stores/valkey/valkey-client';
import {startValkey} from '../../infra/valkey';
import type {RunningService} from '../../infra/processes';
import {uniqueId} from '../support/ids';

const WEAK = {kind: LockKind.WEAK, wait: false} as const;
const VARIABLES = ['LOCKS_VALKEY_URL', 'LOCKS_VALKEY_CA', 'LOCKS_VALKEY_AUTH'];
const fastRetry = {initialMs: 5, maxMs: 20, maxAttempts: 2};

/**
 * LOCKS_VALKEY_AUTH=iam: the password is the runtime account's access token, which changes about
 * hourly. Memorystore checks it with AUTH; here a redis-server's requirepass plays the instance,
 * rotated as IAM rotates tokens, and a sinon stub plays google-auth-library (no emulator serves
 * Google's token endpoint).
 */
describe('WEAK locks on Valkey with IAM auth (LOCKS_VALKEY_AUTH=iam)', function () {
  this.timeout(30_000);
  const sandbox = sinon.createSandbox();
  let server: RunningService;
  let admin: Redis;
  let token: string;
  let saved: Record<string, string | undefined>;
  let built: sinon.SinonSpy;

  before(async () => {
    server = await startValkey();
    // Set after the start: the readiness probe's PING sends no password.
    const setup = new Redis(server.port, '127.0.0.1', {lazyConnect: true});
    await setup.call('CONFIG', 'SET', 'requirepass', 'token-1');
    setup.disconnect();
  });
  after(() => server?.stop());
  beforeEach(async () => {
    saved = Object.fromEntries(
      VARIABLES.map(name => [name, process.env[name]]),
    );
    process.env.LOCKS_VALKEY_URL = `redis://127.0.0.1:${server.port}`;
    process.env.LOCKS_VALKEY_AUTH = 'iam';
    delete process.env.LOCKS_VALKEY_CA;
    admin = new Redis(server.port, '127.0.0.1', {
      password: 'token-1',
      lazyConnect: true,
    });
    await admin.connect();
    token = 'token-1';
    sandbox.stub(iamPassword, 'googleAccessTokens').resolves(async () => token);
    built = sandbox.spy(defaultClient, 'defaultValkeyClient');
    configureLocking({retry: fastRetry, rpcTimeoutMs: 1000});
  });
  afterEach(async () => {
    configureLocking();
    for (const made of built.returnValues as Promise<ValkeyClient>[])
      ((await made) as unknown as {disconnect(): void}).disconnect();
    await admin.call('CONFIG', 'SET', 'requirepass', 'token-1');
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    admin.disconnect();
    sandbox.restore();
    for (const [name, value] of Object.entries(saved))
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  });

  async function lockCycle(): Promise<void> {
    const held = await Lock.acquire(uniqueId('valkey-iam'), WEAK);
    assert.ok(held, 'acquired');
    await held.release();
  }

  it('the token is the password; after rotation the open connection re-authenticates, and a new connection uses the new token', async () => {
    await lockCycle();
    // IAM rotates: the server now takes only the new token, and the source hands it out.
    await admin.call('CONFIG', 'SET', 'requirepass', 'token-2');
    admin.options.password = 'token-2';
    token = 'token-2';
    await lockCycle();
    // The connection drops (a failover, an idle timeout): the reconnect must send the new token.
    // token-2 expired: the source hands out token-3, and the server takes nothing else from a new connection.
    token = 'token-3';
    await admin.call('CONFIG', 'SET', 'requirepass', 'token-3');
    await admin.call('ACL', 'LOG', 'RESET');
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    // No command for a while, as an idle instance: iovalkey reconnects on its own timer.
    await new Promise(resolve => setTimeout(resolve, 300));
    let ok = false;
    for (let attempt = 0; attempt < 50 && !ok; attempt++) {
      try {
        await lockCycle();
        ok = true;
      } catch (error) {
        // While iovalkey reconnects, a call is BACKEND_UNAVAILABLE; never a refused password.
        assert.equal(
          (error as LockError).code,
          'BACKEND_UNAVAILABLE',
          (error as Error).message,
        );
        await new Promise(resolve => setTimeout(resolve, 20));
      }
    }
    assert.ok(ok, 'the reconnected client authenticated with token-3');
    // The server logs every refused AUTH: the reconnect never tried the expired token.
    assert.deepEqual(await admin.call('ACL', 'LOG'), [], 'no AUTH was refused');
    const clients = String(
      await admin.call('CLIENT', 'LIST', 'TYPE', 'normal'),
    );
    assert.ok(clients.split('\n').filter(Boolean).length >= 2, clients);
  });

  it('a token the server refuses is a BACKEND_FAILURE naming WRONGPASS, not a hang', async () => {
    await lockCycle();
    token = 'not-the-token';
    await assert.rejects(
      Lock.acquire(uniqueId('valkey-iam-wrong'), WEAK),
      (error: unknown) =>
        error instanceof LockError &&
        error.code === 'BACKEND_FAILURE' &&
        /WRONGPASS/.test(error.message),
    );
  });

  it('IAM auth off: google-auth-library is never loaded (no cold-start cost)', () => {
    const script = `
      process.env.LOCKS_VALKEY_URL = 'redis://127.0.0.1:1';
      const {createValkeyBackend} = require(${JSON.stringify(join(__dirname, '../../shared/stores/valkey'))});
      createValkeyBackend().then(() => {
        const loaded = Object.keys(require.cache).some(p => p.includes('google-auth-library'));
        console.log(loaded ? 'loaded' : 'not loaded');
        process.exit(0);
      });`;
    const env = {...process.env};
    delete env.LOCKS_VALKEY_AUTH;
    const run = spawnSync(process.execPath, ['-e', script], {
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(run.stdout.trim(), 'not loaded', run.stderr);
  });
});
