import {strict as assert} from 'node:assert';
import {Datastore} from '@google-cloud/datastore';
import {Client} from 'memjs';
import {
  configureLocking,
  Lock,
  LockError,
  LockKind,
  type LockingConfig,
} from '../../shared';
import {BUDGET_GRACE_MS} from '../../shared/core/budget';
import {currentRuntime} from '../../shared/configuration/config';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {TEST_PROJECT} from '../support/global-setup';
import {delay, uniqueId} from '../support/ids';
import {memcacheClient} from '../support/memcache-target';
import {startSilentServer, type SilentServer} from '../support/silent-server';

/**
 * A wait budget (waitForMs) bounds the whole acquire, store calls included, and a signal stops it.
 * Before budgets, an acquire against a store that hangs took every try's full per-call deadline
 * (3 tries x 5 s here), whatever waitForMs said.
 */
const LONG_CALL_DEADLINE_MS = 5_000;
const BUDGET_MS = 300;

async function settleWithin<T>(
  promise: Promise<T>,
): Promise<{ms: number; outcome: T | LockError | unknown}> {
  const started = Date.now();
  const outcome = await promise.catch((error: unknown) => error);
  return {ms: Date.now() - started, outcome};
}

describe('a wait budget bounds every store call', function () {
  this.timeout(60_000);
  let silent: SilentServer;
  before(async () => (silent = await startSilentServer()));
  after(async () => {
    configureLocking();
    await silent.close();
  });

  const hangingStores: {
    name: string;
    kind: LockKind;
    config: () => LockingConfig;
  }[] = [
    {
      name: 'STRONG, a Datastore endpoint that never answers',
      kind: LockKind.STRONG,
      config: () => ({
        datastore: new Datastore({
          projectId: TEST_PROJECT,
          apiEndpoint: silent.host,
        }),
      }),
    },
    {
      name: 'WEAK, a memcached that never answers',
      kind: LockKind.WEAK,
      config: () => ({
        memcache: Client.create(silent.host, {
          logger: {log: () => undefined},
          timeout: 30,
          conntimeout: 30,
          retries: 0,
        }),
      }),
    },
  ];

  for (const store of hangingStores) {
    for (const wait of [true, false]) {
      it(`${store.name}: wait ${wait}, waitForMs ${BUDGET_MS} ends within the budget and its graces, not after 3 full call deadlines`, async () => {
        configureLocking({
          ...store.config(),
          rpcTimeoutMs: LONG_CALL_DEADLINE_MS,
        });
        const {ms, outcome} = await settleWithin(
          Lock.acquire(uniqueId('hanging'), {
            kind: store.kind,
            wait,
            waitForMs: BUDGET_MS,
          }),
        );
        assert.ok(
          outcome instanceof LockError &&
            outcome.code === 'BACKEND_UNAVAILABLE',
          `a store that never answered is unavailable: ${String(outcome)}`,
        );
        // The budget, plus at most two graces (the last attempt; removing a write that may have landed), plus slack.
        assert.ok(
          ms < BUDGET_MS + 2 * BUDGET_GRACE_MS + 2_000,
          `settled after ${ms} ms; one full call deadline alone is ${LONG_CALL_DEADLINE_MS} ms`,
        );
      });
    }
  }
});

describe('a signal stops an acquire', function () {
  this.timeout(30_000);
  after(() => configureLocking());

  const stores: {name: string; kind: LockKind; config: () => LockingConfig}[] =
    [
      ...DATASTORE_TARGETS.map(target => ({
        name: `STRONG on the ${target.name}`,
        kind: LockKind.STRONG,
        config: () => ({datastore: target.client()}),
      })),
      {
        name: 'WEAK on memcached',
        kind: LockKind.WEAK,
        config: () => ({memcache: memcacheClient()}),
      },
    ];

  for (const store of stores) {
    it(`${store.name}: the polling waiter and a queued one both resolve null soon after the abort, and leave the queue`, async () => {
      configureLocking(store.config());
      const identifier = uniqueId('aborted');
      const holder = await Lock.acquire(identifier, {kind: store.kind});
      assert.ok(holder);
      const controller = new AbortController();
      const polling = Lock.acquire(identifier, {
        kind: store.kind,
        signal: controller.signal,
      });
      const queued = Lock.acquire(identifier, {
        kind: store.kind,
        signal: controller.signal,
      });
      await delay(300);
      assert.equal(currentRuntime().queue.size(store.kind, identifier), 2);
      controller.abort();
      const {ms, outcome} = await settleWithin(Promise.all([polling, queued]));
      assert.deepEqual(outcome, [null, null]);
      assert.ok(
        ms < 2_000,
        `stopped ${ms} ms after the abort, not at the next poll of a long wait`,
      );
      assert.equal(currentRuntime().queue.size(store.kind, identifier), 0);
      assert.equal(
        await holder.release(),
        true,
        'the holder was never disturbed',
      );
    });

    it(`${store.name}: an aborted signal takes nothing`, async () => {
      configureLocking(store.config());
      const identifier = uniqueId('pre-aborted');
      assert.equal(
        await Lock.acquire(identifier, {
          kind: store.kind,
          signal: AbortSignal.abort(),
        }),
        null,
      );
      const next = await Lock.acquire(identifier, {
        kind: store.kind,
        wait: false,
      });
      assert.ok(next, 'the lock is still free');
      await next.release();
    });
  }

  it('refuses a signal that is not an AbortSignal', async () => {
    await assert.rejects(
      Lock.acquire('id', {signal: {} as AbortSignal}),
      (error: unknown) =>
        error instanceof LockError &&
        error.code === 'INVALID_ARGUMENT' &&
        /signal/.test(error.message),
    );
  });
});
