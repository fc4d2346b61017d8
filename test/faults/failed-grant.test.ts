import {strict as assert} from 'node:assert';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import '../../functions';
import {
  configureLocking,
  createLocking,
  Lock,
  LockError,
  LockKind,
  type LockingConfig,
} from '../../shared';
import {uniqueId} from '../support/ids';
import {onceConnected} from '../support/warm-up';
import {memcacheClient, memcacheHost} from '../support/memcache-target';
import {
  startStallingProxy,
  type StallingProxy,
} from '../support/stalling-proxy';
import {STRONG_TARGETS} from '../support/strong-targets';
import {valkeyClient, valkeyHost} from '../support/valkey-target';

/**
 * A grant whose caller was told it failed never blocks others for longer than the bound
 * docs/how-it-works.md states ("A failed acquire" under "How STRONG locks work", and the row
 * "an acquire fails while its write is on its way" under "What each kind guarantees"). The store stalls (a proxy holds its bytes, as a stopped
 * process's socket buffers do) while an acquire's write is on its way; the acquire gives up; the
 * store resumes and receives that write. Without the fix the write landed on Firestore native and
 * memcached, and every other caller found the lock held by nobody: until cleanup, or for ever.
 */
interface Store {
  readonly name: string;
  readonly kind: LockKind;
  host(): string;
  /** The library's configuration for a client at `host`, its locks kept apart by `namespace`. */
  configAt(host: string, namespace: string): LockingConfig;
  /** How long after the store resumes the failed grant may still block others (docs/how-it-works.md). */
  readonly boundMs: number;
}

/** The deadline of each store call in these tests, which the bound on memcached follows. */
const RPC_TIMEOUT_MS = 1_000;

const STORES: readonly Store[] = [
  ...STRONG_TARGETS.map(target => ({
    name: `STRONG on the ${target.name}`,
    kind: LockKind.STRONG,
    host: () => target.host(),
    configAt: (host: string, namespace: string) => ({
      ...target.configAt(host),
      namespace,
    }),
    // The failed acquire's clean-up finds the write once the store answers again.
    boundMs: 2_000,
  })),
  {
    name: 'WEAK on memcached',
    kind: LockKind.WEAK,
    host: memcacheHost,
    configAt: (host: string, namespace: string) => ({
      memcache: memcacheClient(host),
      memcacheKeyPrefix: `${namespace}:`,
    }),
    // An unconfirmed grant's key lives twice the call deadline and a second, in whole seconds.
    boundMs: 2 * RPC_TIMEOUT_MS + 2_000,
  },
  {
    name: 'WEAK on Valkey',
    kind: LockKind.WEAK,
    host: valkeyHost,
    // The identifiers are unique to each test: the default key prefix keeps them apart.
    configAt: (host: string) => ({valkey: valkeyClient(host)}),
    // The clean-up's releases queue behind the acquire on its one connection, so the server runs
    // them right after it: the same path and bound as STRONG's.
    boundMs: 2_000,
  },
];

/** Slack for a loaded machine: the test proves a bound, not a speed. */
const SLACK_MS = 5_000;

for (const store of STORES) {
  describe(`a failed acquire on a stalled store: ${store.name}`, function () {
    this.timeout(60_000);
    let proxy: StallingProxy;
    let namespace = '';
    beforeEach(async () => {
      proxy = await startStallingProxy(store.host());
      namespace = uniqueId('failed-grant').replace(/:/g, '-');
      const config = store.configAt(proxy.host, namespace);
      // The client's connection is open before the store stalls, as a warm instance's is (a cold
      // client's first call may take longer than these tests' call deadline).
      configureLocking(config);
      const warm = await onceConnected(() =>
        Lock.acquire(uniqueId('warm'), {kind: store.kind, wait: false}),
      );
      await warm?.release();
      configureLocking({
        ...config,
        rpcTimeoutMs: RPC_TIMEOUT_MS,
        retry: {initialMs: 5, maxMs: 20, maxAttempts: 3},
      });
    });
    afterEach(async () => {
      proxy.resume();
      await proxy.close();
    });
    after(() => configureLocking());

    /** Another instance, with a client of its own straight to the store. */
    const otherInstance = () =>
      createLocking(store.configAt(store.host(), namespace));

    it(`Lock.acquire rejects BACKEND_UNAVAILABLE, and once the store resumes the lock is free within ${store.boundMs} ms`, async () => {
      const identifier = uniqueId('orphan');
      proxy.stall();
      await assert.rejects(
        Lock.acquire(identifier, {kind: store.kind, waitForMs: 1_500}),
        (error: unknown) =>
          error instanceof LockError && error.code === 'BACKEND_UNAVAILABLE',
      );
      proxy.resume();
      const resumedAt = Date.now();
      const other = await otherInstance().Lock.acquire(identifier, {
        kind: store.kind,
        waitForMs: store.boundMs + SLACK_MS,
      });
      const blockedMs = Date.now() - resumedAt;
      assert.ok(
        other,
        `the lock was still held by nobody ${blockedMs} ms after the store resumed`,
      );
      await other.release();
    });

    it('acquireLock answers 503, and then not 409 lock_held for longer than the bound', async () => {
      const identifier = uniqueId('orphan-http');
      proxy.stall();
      const failed = await request(getTestServer('acquireLock'))
        .post('/')
        .send({identifier, kind: store.kind, waitForMs: 1_500});
      assert.equal(failed.status, 503, failed.text);
      proxy.resume();
      const resumedAt = Date.now();
      configureLocking(store.configAt(store.host(), namespace));
      let status = 0;
      while (Date.now() - resumedAt < store.boundMs + SLACK_MS) {
        const response = await request(getTestServer('acquireLock'))
          .post('/')
          .send({identifier, kind: store.kind, wait: false});
        status = response.status;
        if (status !== 409) break;
        await new Promise(resolve => setTimeout(resolve, 100));
      }
      assert.equal(
        status,
        200,
        `still ${status} ${Date.now() - resumedAt} ms after the store resumed`,
      );
    });
  });
}
