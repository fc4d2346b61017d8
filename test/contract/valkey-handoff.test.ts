import {strict as assert} from 'node:assert';
import {join} from 'node:path';
import type {Redis} from 'iovalkey';
import sinon from 'sinon';
import {spawnChild} from '../../infra/spawn-and-wait';
import {configureLocking, Lock, LockKind} from '../../shared';
import * as backoff from '../../shared/core/backoff';
import {createValkeyBackend} from '../../shared/stores/valkey';
import type {ValkeyLockBackend} from '../../shared/stores/valkey';
import {lockKeys} from '../../shared/stores/valkey/lock-keys';
import {delay, uniqueId} from '../support/ids';
import {valkeyClient, valkeyUrl} from '../support/valkey-target';

const WEAK = {kind: LockKind.WEAK} as const;

/** Resolves once someone has subscribed to the lock's channel. */
async function untilSubscribed(client: Redis, identifier: string) {
  const channel = lockKeys('lock:', identifier).channel;
  for (const started = Date.now(); ; await delay(10)) {
    const [, count] = (await client.call('PUBSUB', 'NUMSUB', channel)) as [
      string,
      number,
    ];
    if (count > 0) return;
    if (Date.now() - started > 10_000)
      throw new Error('nobody subscribed within 10 s');
  }
}

/** Push hand-off on Valkey: a release publishes on the lock's channel, and waiters subscribe to it. */
describe('WEAK locks on Valkey: push hand-off', function () {
  this.timeout(30_000);
  let client: Redis;
  let backend: ValkeyLockBackend;

  before(async () => {
    client = valkeyClient();
    backend = await createValkeyBackend(client);
  });
  afterEach(() => sinon.restore());
  after(() => configureLocking());

  it('a waiter in another process gets the lock within milliseconds of the release, without polling meanwhile', async () => {
    const identifier = uniqueId('valkey-handoff');
    const held = await backend.tryAcquire({identifier, token: 'holder'});
    assert.ok(held.acquired);
    const waiter = spawnChild(
      process.execPath,
      [join(__dirname, '../support/valkey-waiter.js')],
      {env: {...process.env, VALKEY_URL: valkeyUrl(), IDENTIFIER: identifier}},
    );
    try {
      await untilSubscribed(client, identifier);
      const subscribedAt = Date.now();
      // Long enough for a polling waiter to try several times (backoff: 20 ms doubling to 250 ms).
      await delay(1500);
      const releasedAt = Date.now();
      assert.equal(await backend.release(identifier, 'holder'), 'released');
      const status = await waiter.closed;
      assert.equal(status.code, 0, waiter.output());
      const lines = waiter
        .output()
        .trim()
        .split('\n')
        .map(
          line => JSON.parse(line) as {grantedAt?: number; attemptAt?: number},
        );
      const grantedAt = lines.find(line => line.grantedAt)?.grantedAt ?? NaN;
      const handoffMs = grantedAt - releasedAt;
      // Woken by the release, not found by a poll: with no tries while held, the next poll would
      // be the 5 s safety poll. The bound separates the two; speed is measured in npm run bench.
      assert.ok(handoffMs < 1000, `hand-off took ${handoffMs} ms`);
      const whileHeld = lines.filter(
        ({attemptAt}) =>
          attemptAt !== undefined &&
          attemptAt > subscribedAt + 100 &&
          attemptAt < releasedAt,
      );
      assert.equal(
        whileHeld.length,
        0,
        'once subscribed, the waiter tried only when told',
      );
    } finally {
      waiter.kill('SIGKILL');
    }
  });

  it('a waiter whose subscription breaks falls back to polling at once', async () => {
    configureLocking({weak: backend});
    // Polling every 50 ms once the watch is gone: the 5 s safety poll would fail the timing below.
    sinon.stub(backoff, 'fullJitterDelayMs').returns(50);
    const identifier = uniqueId('valkey-broken-subscription');
    assert.ok(
      (await backend.tryAcquire({identifier, token: 'holder'})).acquired,
    );
    const waiting = Lock.acquire(identifier, {...WEAK, waitForMs: 10_000});
    await untilSubscribed(client, identifier);
    await delay(100);
    await client.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await delay(100);
    // Removed without a release's publish: only a poll can find it free.
    const removedAt = Date.now();
    await client.del(lockKeys('lock:', identifier).lock);
    const next = await waiting;
    assert.ok(next, 'granted');
    const tookMs = Date.now() - removedAt;
    assert.ok(
      tookMs < 1000,
      `took ${tookMs} ms: the waiter kept trusting the watch`,
    );
    await next.release();
  });

  it('a lease running out wakes a watching waiter on time, with no release to publish', async () => {
    configureLocking({weak: backend});
    sinon.stub(backoff, 'fullJitterDelayMs').returns(20_000);
    const identifier = uniqueId('valkey-lease-end');
    assert.ok(
      (await backend.tryAcquire({identifier, token: 'holder', leaseMs: 600}))
        .acquired,
    );
    const started = Date.now();
    const next = await Lock.acquire(identifier, {...WEAK, waitForMs: 10_000});
    const tookMs = Date.now() - started;
    assert.ok(next);
    assert.ok(tookMs >= 550 && tookMs < 1500, `took ${tookMs} ms`);
    await next.release();
  });
});
