import {strict as assert} from 'node:assert';
import sinon from 'sinon';
import {configureLocking, Lock, LockError, LockKind} from '../../shared';
import {createValkeyBackend} from '../../shared/stores/valkey';
import * as defaultClient from '../../shared/stores/valkey/default-client';
import type {ValkeyClient} from '../../shared/stores/valkey/valkey-client';
import {startValkeyTls} from '../../infra/valkey';
import type {RunningService} from '../../infra/processes';
import {uniqueId} from '../support/ids';
import {
  makeTestCertificates,
  type TestCertificates,
} from '../support/tls-certificates';

const WEAK = {kind: LockKind.WEAK, wait: false} as const;
const VARIABLES = ['LOCKS_VALKEY_URL', 'LOCKS_VALKEY_CA', 'LOCKS_VALKEY_AUTH'];

/**
 * TLS with the server's own CA, as Memorystore for Valkey's transit encryption needs: a
 * redis-server built with TLS, a throwaway CA made by openssl, and the client the library builds
 * from LOCKS_VALKEY_URL and LOCKS_VALKEY_CA.
 */
describe('WEAK locks on Valkey over TLS (LOCKS_VALKEY_CA)', function () {
  this.timeout(30_000);
  const sandbox = sinon.createSandbox();
  let certs: TestCertificates;
  let server: RunningService;
  let saved: Record<string, string | undefined>;
  let built: sinon.SinonSpy;

  before(async () => {
    certs = makeTestCertificates();
    server = await startValkeyTls(certs);
  });
  after(async () => {
    await server?.stop();
    certs?.remove();
  });
  beforeEach(() => {
    saved = Object.fromEntries(
      VARIABLES.map(name => [name, process.env[name]]),
    );
    for (const name of VARIABLES) delete process.env[name];
    built = sandbox.spy(defaultClient, 'defaultValkeyClient');
  });
  afterEach(async () => {
    configureLocking();
    for (const made of built.returnValues as Promise<ValkeyClient>[])
      ((await made) as unknown as {disconnect(): void}).disconnect();
    sandbox.restore();
    for (const [name, value] of Object.entries(saved))
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  });

  const tlsUrl = () => `rediss://127.0.0.1:${server.port}`;
  const fastRetry = {initialMs: 5, maxMs: 20, maxAttempts: 2};

  async function lockCycle(): Promise<void> {
    const id = uniqueId('valkey-tls');
    const held = await Lock.acquire(id, WEAK);
    assert.ok(held, 'acquired over TLS');
    assert.equal(
      await Lock.acquire(id, WEAK),
      null,
      'held: a second try fails',
    );
    await held.release();
    const again = await Lock.acquire(id, WEAK);
    assert.ok(again, 'free again after the release');
    await again.release();
  }

  it('with the CA from LOCKS_VALKEY_CA (line breaks as \\n, as the deploy sets it), locks work over rediss://', async () => {
    process.env.LOCKS_VALKEY_URL = tlsUrl();
    process.env.LOCKS_VALKEY_CA = certs.caPem.replace(/\n/g, '\\n');
    configureLocking({retry: fastRetry});
    await lockCycle();
    assert.equal(built.callCount, 1, 'the library built the client');
  });

  it('with the CA as the `ca` option (PEM text as read from a file), locks work too', async () => {
    configureLocking({
      weak: createValkeyBackend(undefined, {url: tlsUrl(), ca: certs.caPem}),
      retry: fastRetry,
    });
    await lockCycle();
  });

  for (const [name, ca] of [
    ['without a CA (the system CAs do not know the server)', undefined],
    ['with the wrong CA', 'other'],
  ] as const) {
    it(`${name}: the first call is BACKEND_UNAVAILABLE within seconds, and a warning names the certificate problem and LOCKS_VALKEY_CA`, async () => {
      process.env.LOCKS_VALKEY_URL = tlsUrl();
      if (ca) process.env.LOCKS_VALKEY_CA = certs.otherCaPem;
      const warnings: string[] = [];
      const logger = {
        debug: () => undefined,
        info: () => undefined,
        warn: (message: string) => warnings.push(message),
        error: () => undefined,
      };
      configureLocking({retry: fastRetry, rpcTimeoutMs: 1000, logger});
      const started = Date.now();
      await assert.rejects(
        Lock.acquire(uniqueId('valkey-tls-bad'), WEAK),
        (error: unknown) =>
          error instanceof LockError && error.code === 'BACKEND_UNAVAILABLE',
      );
      const took = Date.now() - started;
      assert.ok(took < 5000, `failed in ${took} ms, not a hang`);
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(
        warnings[0] as string,
        /^valkey: the TLS handshake failed: .*certificate.*Check LOCKS_VALKEY_CA/,
      );
    });
  }

  it('a CA with redis:// (plain text) is INVALID_ARGUMENT naming LOCKS_VALKEY_CA', async () => {
    process.env.LOCKS_VALKEY_URL = `redis://127.0.0.1:${server.port}`;
    process.env.LOCKS_VALKEY_CA = certs.caPem;
    configureLocking({retry: fastRetry});
    await assert.rejects(
      Lock.acquire(uniqueId('valkey-tls-plain'), WEAK),
      (error: unknown) =>
        error instanceof LockError &&
        error.code === 'INVALID_ARGUMENT' &&
        /LOCKS_VALKEY_CA .*rediss:\/\//.test(error.message),
    );
    assert.equal(built.callCount, 0, 'no client was built');
  });

  it('a LOCKS_VALKEY_CA that is not PEM certificates is INVALID_ARGUMENT naming the variable, never its text', async () => {
    process.env.LOCKS_VALKEY_URL = tlsUrl();
    for (const bad of [
      'secret-not-a-cert',
      certs.caPem.replace('MII', 'XXsecretXX'),
      `${certs.caPem}secret-trailer`,
    ]) {
      process.env.LOCKS_VALKEY_CA = bad;
      configureLocking({retry: fastRetry});
      await assert.rejects(
        Lock.acquire(uniqueId('valkey-tls-garbage'), WEAK),
        (error: unknown) =>
          error instanceof LockError &&
          error.code === 'INVALID_ARGUMENT' &&
          /^LOCKS_VALKEY_CA must be the PEM text/.test(error.message) &&
          !/secret/.test(error.message),
      );
    }
  });
});
