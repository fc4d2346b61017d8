import {strict as assert} from 'node:assert';
import type {Redis} from 'iovalkey';
import sinon from 'sinon';
import {createLocking, LockKind} from '../../shared';
import * as backoff from '../../shared/core/backoff';
import {LISTENED_SAFETY_POLL_MS} from '../../shared/core/waiting';
import {createValkeyBackend} from '../../shared/stores/valkey';
import {uniqueId} from '../support/ids';
import {valkeyClient} from '../support/valkey-target';

/**
 * The push hand-off's gap: a waiter subscribes only after its attempt found the lock held (an
 * uncontended acquire opens no subscription), so a release can land, and publish to nobody,
 * between that attempt and the SUBSCRIBE. The look the watch takes once subscribed sees the lock
 * gone and wakes the waiter: no wake-up is missed, and the waiter does not sit out a poll interval.
 */
describe('WEAK locks on Valkey: a release between the failed attempt and the subscribe', function () {
  this.timeout(30_000);
  let client: Redis;
  afterEach(() => sinon.restore());

  it('the waiter is woken by its first look, long before any poll', async () => {
    client = valkeyClient();
    const identifier = uniqueId('valkey-gap');
    // The holder: another instance, with a connection of its own.
    const holder = await createValkeyBackend(valkeyClient());
    assert.ok(
      (await holder.tryAcquire({identifier, token: 'holder'})).acquired,
    );

    let releasedAt = 0;
    const duplicate = client.duplicate.bind(client);
    sinon.stub(client, 'duplicate').callsFake(() => {
      const subscriber = duplicate();
      const subscribe = subscriber.subscribe.bind(subscriber);
      // The release lands, and publishes, before the waiter's SUBSCRIBE is sent.
      subscriber.subscribe = (async (...channels: string[]) => {
        assert.equal(await holder.release(identifier, 'holder'), 'released');
        releasedAt = Date.now();
        return subscribe(...channels);
      }) as typeof subscriber.subscribe;
      return subscriber;
    });
    // Backoff polling would find it only after 20 s, the healthy watch's safety poll after 5 s.
    sinon.stub(backoff, 'fullJitterDelayMs').returns(20_000);

    const locking = createLocking({weak: createValkeyBackend(client)});
    const next = await locking.Lock.acquire(identifier, {
      kind: LockKind.WEAK,
      waitForMs: 15_000,
    });
    const tookMs = Date.now() - releasedAt;
    assert.ok(next, 'granted');
    assert.ok(releasedAt > 0, 'the release landed in the gap');
    assert.ok(
      tookMs < LISTENED_SAFETY_POLL_MS / 5,
      `granted ${tookMs} ms after the release: the wake-up was missed`,
    );
    await next.release();
  });
});
