import {strict as assert} from 'node:assert';
import {Topic, type Message, type PubSub} from '@google-cloud/pubsub';
import sinon from 'sinon';
import {
  ATTEMPT_ATTRIBUTE,
  DEAD_LETTER_REASON_ATTRIBUTE,
  lockedHandler,
  PARK_ID_ATTRIBUTE,
  PARK_SEQ_ATTRIBUTE,
  type LockedHandlerOptions,
  type PubSubCloudEvent,
} from '../../shared/pubsub';
import {
  cleanupStaleLocks,
  configureLocking,
  Lock,
  LockKind,
  peek,
} from '../../shared';
import {currentRuntime} from '../../shared/configuration/config';
import type {ParkedRecord} from '../../shared/waiting-room/types';
import {delay, uniqueId} from '../support/ids';
import {
  eventOfMessage,
  pubsubClient,
  pubsubEvent,
  pull,
  topicWithSubscription,
} from '../support/pubsub-fixtures';
import {STRONG_TARGETS} from '../support/strong-targets';
import {warmUp} from '../support/warm-up';

type Job = {key: string; n: number};
const jobOf = (event: PubSubCloudEvent): Job =>
  JSON.parse(
    Buffer.from(event.data?.message?.data ?? '', 'base64').toString(),
  ) as Job;
const keyOf = (event: PubSubCloudEvent) => `job:${jobOf(event).key}`;

/** A promise and its resolver: a handler that holds its lock until the test lets it go. */
function gate(): {opened: Promise<void>; open: () => void} {
  let open = () => {};
  const opened = new Promise<void>(resolve => (open = resolve));
  return {opened, open};
}

async function parkedOn(identifier: string): Promise<ParkedRecord[]> {
  const backend = await currentRuntime().backend(LockKind.STRONG);
  assert.ok(backend.waitingRoom, 'every STRONG store has a waiting room');
  return backend.waitingRoom.parked(identifier, 100);
}

/**
 * lockedHandler's waiting room, invoked directly with CloudEvents, wake-ups read back from the real
 * Pub/Sub emulator, on every STRONG store: park, wake by release, order, bounds and backstops.
 */
for (const target of STRONG_TARGETS) {
  describe(`lockedHandler's waiting room: ${target.name}`, function () {
    this.timeout(60_000);
    let pubsub: PubSub;
    let retry: {
      topic: string;
      subscription: import('@google-cloud/pubsub').Subscription;
    };

    beforeEach(async () => {
      pubsub = pubsubClient();
      // A namespace of its own: the cleanup test sweeps every stranded room it can see.
      configureLocking({
        ...target.config(),
        namespace: uniqueId('room').replace(/:/g, '-'),
      });
      await warmUp(LockKind.STRONG);
      retry = await topicWithSubscription(pubsub, 'room-retry');
    });
    afterEach(async () => {
      sinon.restore();
      await pubsub.close();
    });
    after(() => configureLocking());

    /** A handler recording what ran, in order; `hold` keeps the lock until opened. */
    function recordingHandler(
      ran: number[],
      options: Partial<LockedHandlerOptions<PubSubCloudEvent>> = {},
      hold?: Promise<void>,
    ) {
      return lockedHandler(
        {
          identifier: keyOf,
          pubsub,
          retryTopic: retry.topic,
          // Wake-ups are published, so the test can deliver them; the drain has its own test.
          drainBudgetMs: 0,
          ...options,
        },
        async event => {
          ran.push(jobOf(event).n);
          if (hold) await hold;
        },
      );
    }

    /** Runs message `n` on `key` and keeps its lock until `release()`, which lets it finish. */
    async function holdingFirst(
      ran: number[],
      key: string,
      n: number,
      options: Partial<LockedHandlerOptions<PubSubCloudEvent>> = {},
    ): Promise<{release: () => Promise<void>}> {
      const held = gate();
      const first = recordingHandler(
        ran,
        options,
        held.opened,
      )(pubsubEvent('projects/p/topics/work', {key, n}));
      while (ran.length === 0) await delay(5);
      return {
        release: async () => {
          held.open();
          await first;
        },
      };
    }

    async function wakeUps(count: number): Promise<Message[]> {
      const messages = await pull(retry.subscription, count, 10_000);
      assert.equal(messages.length, count, `${count} wake-up(s) published`);
      return messages;
    }

    it('parks a message whose lock is held (acknowledged, not run, nothing published), then the release hands the lock on and publishes its wake-up, which runs it', async () => {
      const key = uniqueId('park');
      const ran: number[] = [];
      const holder = await holdingFirst(ran, key, 1);
      const publish = sinon.spy(Topic.prototype, 'publishMessage');
      await recordingHandler(ran)(
        pubsubEvent('projects/p/topics/work', {key, n: 2}, {origin: 'test'}),
      );
      assert.deepEqual(ran, [1], 'the parked message did not run');
      assert.equal(publish.callCount, 0, 'parking published nothing');
      const [record, ...others] = await parkedOn(`job:${key}`);
      assert.equal(others.length, 0);
      assert.ok(record);
      assert.equal(record.seq, 0);
      assert.deepEqual(JSON.parse(record.data.toString()), {key, n: 2});
      assert.equal(record.attributes.origin, 'test');
      assert.equal(record.retryTopic, retry.topic);

      await holder.release();
      const [wakeUp] = await wakeUps(1);
      assert.ok(wakeUp);
      assert.deepEqual(JSON.parse(wakeUp.data.toString()), {key, n: 2});
      assert.equal(wakeUp.attributes.origin, 'test', 'its attributes are kept');
      assert.equal(wakeUp.attributes[PARK_SEQ_ATTRIBUTE], '0');
      assert.equal(wakeUp.attributes[PARK_ID_ATTRIBUTE], record.parkId);
      const handedTo = await peek(`job:${key}`);
      assert.ok(handedTo, 'the lock is handed to the parked message, not free');

      // A newcomer while the lock is handed off parks behind, it does not overtake.
      await recordingHandler(ran)(
        pubsubEvent('projects/p/topics/work', {key, n: 3}),
      );
      assert.deepEqual(ran, [1]);
      await recordingHandler(ran)(eventOfMessage(retry.topic, wakeUp));
      assert.deepEqual(ran, [1, 2], 'the woken message ran');
      const [next] = await wakeUps(1);
      assert.ok(next);
      assert.deepEqual(JSON.parse(next.data.toString()), {key, n: 3});
      await recordingHandler(ran)(eventOfMessage(retry.topic, next));
      assert.deepEqual(ran, [1, 2, 3]);
      assert.equal(await peek(`job:${key}`), null, 'the last release freed it');
      assert.deepEqual(await parkedOn(`job:${key}`), [], 'the room is empty');
    });

    it('runs parked messages in arrival order, each once; a second copy of a wake-up while the first runs is acknowledged without running', async () => {
      const key = uniqueId('order');
      const ran: number[] = [];
      const holder = await holdingFirst(ran, key, 0);
      for (let n = 1; n <= 5; n++)
        await recordingHandler(ran)(
          pubsubEvent('projects/p/topics/work', {key, n}),
        );
      assert.deepEqual(
        (await parkedOn(`job:${key}`)).map(record => record.seq),
        [0, 1, 2, 3, 4],
      );
      await holder.release();
      for (let n = 1; n <= 5; n++) {
        const [wakeUp] = await wakeUps(1);
        assert.ok(wakeUp);
        const event = eventOfMessage(retry.topic, wakeUp);
        const running = gate();
        const copy = recordingHandler(ran, {}, running.opened)(event);
        while (ran.length < n + 1) await delay(5);
        // Pub/Sub may deliver a wake-up twice: the copy that comes while the first runs is dropped.
        await recordingHandler(ran)(event);
        running.open();
        await copy;
      }
      assert.deepEqual(ran, [0, 1, 2, 3, 4, 5]);
      assert.equal(await peek(`job:${key}`), null);
      assert.deepEqual(await parkedOn(`job:${key}`), []);
    });

    it('the releasing invocation runs the parked messages itself, in order, within its drain budget, and publishes nothing', async () => {
      const key = uniqueId('drain');
      const ran: number[] = [];
      const options = {drainBudgetMs: 30_000};
      const holder = await holdingFirst(ran, key, 0, options);
      for (let n = 1; n <= 4; n++)
        await recordingHandler(
          ran,
          options,
        )(pubsubEvent('projects/p/topics/work', {key, n}));
      const publish = sinon.spy(Topic.prototype, 'publishMessage');
      await holder.release();
      assert.deepEqual(ran, [0, 1, 2, 3, 4]);
      assert.equal(publish.callCount, 0, 'no wake-up was published');
      assert.equal(await peek(`job:${key}`), null);
      assert.deepEqual(await parkedOn(`job:${key}`), []);
    });

    it('a drained message whose handler fails goes back into the room, behind the others, and runs again; the original delivery succeeds', async () => {
      const key = uniqueId('drain-fails');
      const ran: number[] = [];
      let failOnce = true;
      const handler = (hold?: Promise<void>) =>
        lockedHandler(
          {
            identifier: keyOf,
            pubsub,
            retryTopic: retry.topic,
            drainBudgetMs: 30_000,
          },
          async event => {
            const {n} = jobOf(event);
            ran.push(n);
            if (hold) await hold;
            if (n === 1 && failOnce) {
              failOnce = false;
              throw new Error('injected handler failure');
            }
          },
        );
      const held = gate();
      const first = handler(held.opened)(
        pubsubEvent('projects/p/topics/work', {key, n: 0}),
      );
      while (ran.length === 0) await delay(5);
      for (const n of [1, 2])
        await handler()(pubsubEvent('projects/p/topics/work', {key, n}));
      held.open();
      await first; // the drained failure does not fail the original delivery
      assert.deepEqual(ran, [0, 1], 'n=1 ran and failed; draining stopped');
      const [wakeUp] = await wakeUps(1);
      assert.ok(wakeUp);
      assert.deepEqual(JSON.parse(wakeUp.data.toString()), {key, n: 2});
      await handler()(eventOfMessage(retry.topic, wakeUp));
      assert.deepEqual(
        ran,
        [0, 1, 2, 1],
        'n=1, parked again behind n=2, ran again',
      );
      assert.equal(await peek(`job:${key}`), null);
      assert.deepEqual(await parkedOn(`job:${key}`), []);
    });

    it('past its drain budget, the releasing invocation publishes the next wake-up', async () => {
      const key = uniqueId('drain-budget');
      const ran: number[] = [];
      const options = {drainBudgetMs: 1};
      const holder = await holdingFirst(ran, key, 0, options);
      await recordingHandler(
        ran,
        options,
      )(pubsubEvent('projects/p/topics/work', {key, n: 1}));
      await holder.release();
      assert.deepEqual(ran, [0]);
      const [wakeUp] = await wakeUps(1);
      assert.ok(wakeUp);
      await recordingHandler(ran)(eventOfMessage(retry.topic, wakeUp));
      assert.deepEqual(ran, [0, 1]);
    });

    it('with half its deadline spent, the releasing invocation publishes the next wake-up, whatever its drain budget', async () => {
      const key = uniqueId('drain-deadline');
      const ran: number[] = [];
      const options = {drainBudgetMs: 30_000, deadlineMs: 1_000};
      const startedAt = Date.now();
      const holder = await holdingFirst(ran, key, 0, options);
      await recordingHandler(
        ran,
        options,
      )(pubsubEvent('projects/p/topics/work', {key, n: 1}));
      await delay(Math.max(0, startedAt + 600 - Date.now()));
      await holder.release();
      assert.deepEqual(ran, [0], 'n=1 was not run by the releasing invocation');
      const [wakeUp] = await wakeUps(1);
      assert.ok(wakeUp);
      await recordingHandler(ran)(eventOfMessage(retry.topic, wakeUp));
      assert.deepEqual(ran, [0, 1]);
    });

    it('a wake-up whose parked record is gone runs as a new arrival', async () => {
      const key = uniqueId('gone');
      const ran: number[] = [];
      await recordingHandler(ran)(
        pubsubEvent(
          'projects/p/topics/work',
          {key, n: 7},
          {[PARK_SEQ_ATTRIBUTE]: '41', [PARK_ID_ATTRIBUTE]: 'no-such-park'},
        ),
      );
      assert.deepEqual(ran, [7]);
      assert.equal(await peek(`job:${key}`), null);
    });

    it('a message parked longer than maxWaitMs is dead-lettered, marked max_wait, and the next one is woken', async () => {
      const dead = await topicWithSubscription(pubsub, 'room-dead');
      const key = uniqueId('max-wait');
      const ran: number[] = [];
      // n=2 waits past maxWaitMs; n=3, parked just before the release, is claimed well within it.
      const options = {maxWaitMs: 3000, deadLetterTopic: dead.topic};
      const holder = await holdingFirst(ran, key, 1, options);
      await recordingHandler(
        ran,
        options,
      )(pubsubEvent('projects/p/topics/work', {key, n: 2}));
      await delay(3100);
      await recordingHandler(
        ran,
        options,
      )(pubsubEvent('projects/p/topics/work', {key, n: 3}));
      await holder.release();
      const [overdue] = await wakeUps(1);
      assert.ok(overdue);
      await recordingHandler(
        ran,
        options,
      )(eventOfMessage(retry.topic, overdue));
      const [deadLettered] = await pull(dead.subscription, 1, 10_000);
      assert.ok(deadLettered, 'dead-lettered');
      assert.deepEqual(JSON.parse(deadLettered.data.toString()), {key, n: 2});
      assert.equal(
        deadLettered.attributes[DEAD_LETTER_REASON_ATTRIBUTE],
        'max_wait',
      );
      assert.deepEqual(ran, [1], 'the overdue message did not run');
      const [next] = await wakeUps(1);
      assert.ok(next);
      assert.deepEqual(JSON.parse(next.data.toString()), {key, n: 3});
      await recordingHandler(ran, options)(eventOfMessage(retry.topic, next));
      assert.deepEqual(ran, [1, 3]);
    });

    it('a full room, or a message too large to park, keeps the re-queue with backoff', async () => {
      const key = uniqueId('full');
      const ran: number[] = [];
      const options = {maxQueueLength: 1};
      const holder = await holdingFirst(ran, key, 1, options);
      await recordingHandler(
        ran,
        options,
      )(pubsubEvent('projects/p/topics/work', {key, n: 2}));
      await recordingHandler(
        ran,
        options,
      )(pubsubEvent('projects/p/topics/work', {key, n: 3}));
      await recordingHandler(
        ran,
        options,
      )(
        pubsubEvent('projects/p/topics/work', {
          key,
          n: 4,
          padding: 'x'.repeat(950 * 1024),
        }),
      );
      const requeued = await wakeUps(2);
      assert.deepEqual(
        requeued.map(message => JSON.parse(message.data.toString()).n).sort(),
        [3, 4],
      );
      for (const message of requeued) {
        assert.equal(message.attributes[ATTEMPT_ATTRIBUTE], '1');
        assert.equal(message.attributes[PARK_SEQ_ATTRIBUTE], undefined);
      }
      assert.equal((await parkedOn(`job:${key}`)).length, 1);
      await holder.release();
      const [woken] = await wakeUps(1);
      assert.ok(woken);
      await recordingHandler(ran, options)(eventOfMessage(retry.topic, woken));
      assert.deepEqual(ran, [1, 2]);
    });

    it('a lock released outside lockedHandler with messages parked is left vacant; the cleanup dispatches its oldest parked message', async () => {
      const key = uniqueId('vacant');
      const ran: number[] = [];
      const holder = await Lock.acquire(`job:${key}`, {leaseMs: 30_000});
      assert.ok(holder);
      await recordingHandler(ran)(
        pubsubEvent('projects/p/topics/work', {key, n: 1}),
      );
      await recordingHandler(ran)(
        pubsubEvent('projects/p/topics/work', {key, n: 2}),
      );
      assert.equal(await holder.release(), true);
      assert.equal(await peek(`job:${key}`), null, 'nobody holds it');
      assert.equal((await parkedOn(`job:${key}`)).length, 2, 'the room stays');

      const {dispatched} = await cleanupStaleLocks();
      assert.ok(dispatched >= 1, `dispatched ${dispatched}`);
      const [wakeUp] = await wakeUps(1);
      assert.ok(wakeUp);
      assert.deepEqual(JSON.parse(wakeUp.data.toString()), {key, n: 1});
      await recordingHandler(ran)(eventOfMessage(retry.topic, wakeUp));
      const [next] = await wakeUps(1);
      assert.ok(next);
      await recordingHandler(ran)(eventOfMessage(retry.topic, next));
      assert.deepEqual(ran, [1, 2]);
      assert.equal(await peek(`job:${key}`), null);
    });

    it('a wake-up whose publish failed is dispatched again by the next arrival once the hand-off lease lapses; that arrival parks behind', async () => {
      const key = uniqueId('lost-wake-up');
      const ran: number[] = [];
      const options = {handOffLeaseMs: 300};
      const holder = await holdingFirst(ran, key, 1, options);
      await recordingHandler(
        ran,
        options,
      )(pubsubEvent('projects/p/topics/work', {key, n: 2}));
      const failing = sinon
        .stub(Topic.prototype, 'publishMessage')
        .rejects(
          Object.assign(new Error('14 UNAVAILABLE: injected'), {code: 14}),
        );
      await holder.release(); // the failed publish is logged, not thrown: the work is done
      assert.ok(failing.called);
      failing.restore();
      await delay(400);
      await recordingHandler(
        ran,
        options,
      )(pubsubEvent('projects/p/topics/work', {key, n: 3}));
      assert.deepEqual(ran, [1], 'the newcomer did not overtake');
      const [wakeUp] = await wakeUps(1);
      assert.ok(wakeUp);
      assert.deepEqual(JSON.parse(wakeUp.data.toString()), {key, n: 2});
      await recordingHandler(ran, options)(eventOfMessage(retry.topic, wakeUp));
      const [next] = await wakeUps(1);
      assert.ok(next);
      await recordingHandler(ran, options)(eventOfMessage(retry.topic, next));
      assert.deepEqual(ran, [1, 2, 3]);
    });
  });
}

describe('lockedHandler waiting-room options', () => {
  it('refuses a waiting room it cannot have, and bad bounds, when the function is defined', () => {
    for (const [options, error] of [
      [{waitingRoom: true}, /needs retryTopic/],
      [
        {waitingRoom: true, retryTopic: 't', kind: LockKind.WEAK},
        /needs a STRONG lock/,
      ],
      [{waitingRoom: true, retryTopic: 't', wait: false}, /needs wait: true/],
      [{retryTopic: 't', maxQueueLength: 0}, /maxQueueLength/],
      [{retryTopic: 't', handOffLeaseMs: 50}, /handOffLeaseMs/],
      [{retryTopic: 't', maxWaitMs: -1}, /maxWaitMs/],
      [{retryTopic: 't', waitingRoom: 'yes'}, /waitingRoom/],
    ] as const)
      assert.throws(
        () =>
          lockedHandler(
            {identifier: keyOf, ...(options as object)},
            () => undefined,
          ),
        error,
      );
  });
});
