import {strict as assert} from 'node:assert';
import {configureLocking, LockError, LockKind, peek} from '../../shared';
import {lockedHandler} from '../../shared/pubsub';
import {delay, uniqueId} from '../support/ids';
import {keyOf, pubsubEvent} from '../support/pubsub-fixtures';
import {
  startStallingProxy,
  type StallingProxy,
} from '../support/stalling-proxy';
import {valkeyClient, valkeyHost} from '../support/valkey-target';
import {onceConnected} from '../support/warm-up';

/**
 * A WEAK lockedHandler whose acquire stalls on Valkey: the delivery fails (Pub/Sub redelivers it)
 * without running the handler, and the late grant the stalled acquire leaves is removed, so the
 * redelivery runs the handler, once, instead of finding the message's lock held by nobody.
 */
describe('lockedHandler on a stalled Valkey (WEAK)', function () {
  this.timeout(30_000);
  let proxy: StallingProxy;

  beforeEach(async () => {
    proxy = await startStallingProxy(valkeyHost());
    configureLocking({
      valkey: valkeyClient(proxy.host),
      rpcTimeoutMs: 1_000,
      retry: {initialMs: 5, maxMs: 20, maxAttempts: 3},
    });
    await onceConnected(() => peek(uniqueId('warm'), {kind: LockKind.WEAK}));
  });
  afterEach(async () => {
    proxy.resume();
    await proxy.close();
  });
  after(() => configureLocking());

  it('the stalled delivery fails without running the handler; the redelivery runs it once', async () => {
    const key = uniqueId('valkey-stalled-message');
    let runs = 0;
    const handler = lockedHandler(
      {identifier: keyOf, kind: LockKind.WEAK},
      async () => {
        runs++;
      },
    );
    const event = pubsubEvent('projects/p/topics/unused', {key});

    proxy.stall();
    await assert.rejects(
      handler(event),
      (error: unknown) =>
        error instanceof LockError && error.code === 'BACKEND_UNAVAILABLE',
    );
    assert.equal(runs, 0, 'not run on the failed delivery');
    proxy.resume();
    // Pub/Sub redelivers after its backoff (10 s at the least on Eventarc's subscriptions).
    await delay(200);
    await handler(event);
    assert.equal(runs, 1, 'run once, by the redelivery');
    assert.equal(
      await peek(`job:${key}`, {kind: LockKind.WEAK}),
      null,
      'and nothing is left holding its lock',
    );
  });
});
