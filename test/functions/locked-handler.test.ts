import { strict as assert } from 'node:assert';
import { Topic, type PubSub } from '@google-cloud/pubsub';
import sinon from 'sinon';
import {
  ATTEMPT_ATTRIBUTE,
  configureLocking,
  DEAD_LETTER_REASON_ATTRIBUTE,
  EarlyDeliveryError,
  Lock,
  lockedHandler,
  LockError,
  NOT_BEFORE_ATTRIBUTE,
  peek,
  type PubSubCloudEvent,
} from '../../shared';
import { DATASTORE_TARGETS } from '../support/datastore-targets';
import { uniqueId } from '../support/ids';
import { eventOfMessage, pubsubClient, pubsubEvent, pull, topicWithSubscription } from '../support/pubsub-fixtures';

/** lockedHandler invoked directly with CloudEvents, re-queueing through the real Pub/Sub emulator. */
describe('lockedHandler on the Pub/Sub emulator', () => {
  let pubsub: PubSub;
  const keyOf = (event: PubSubCloudEvent) => `job:${JSON.parse(Buffer.from(event.data?.message?.data ?? '', 'base64').toString()).key}`;

  beforeEach(() => {
    pubsub = pubsubClient();
    configureLocking({ datastore: DATASTORE_TARGETS[1]?.client() });
  });
  afterEach(async () => {
    sinon.restore();
    await pubsub.close();
  });
  after(() => configureLocking());

  it('runs the handler under the lock and releases it after', async () => {
    const key = uniqueId('run');
    const seen: (string | undefined)[] = [];
    const handler = lockedHandler({ identifier: keyOf, pubsub }, async () => {
      seen.push((await peek(`job:${key}`))?.token);
    });
    await handler(pubsubEvent('projects/p/topics/unused', { key }));
    assert.equal(seen.length, 1);
    assert.ok(seen[0], 'the lock was held while the handler ran');
    assert.equal(await peek(`job:${key}`), null, 'and released after');
  });

  it('with the lock held, re-publishes the message with attempt 1 and a later not-before, and does not run the handler', async () => {
    const { topic, subscription } = await topicWithSubscription(pubsub, 'requeue');
    const key = uniqueId('held');
    const held = await Lock.acquire(`job:${key}`);
    let runs = 0;
    const handler = lockedHandler({ identifier: keyOf, pubsub, waitBudgetMs: 50, backoff: { initialMs: 400, maxMs: 400 } }, () => runs++);
    const before = Date.now();
    await handler(pubsubEvent(topic, { key }, { origin: 'test' }));
    assert.equal(runs, 0);
    const [requeued] = await pull(subscription, 1);
    assert.ok(requeued, 'the message was re-published to the topic it came from');
    assert.deepEqual(JSON.parse(requeued.data.toString()), { key });
    assert.equal(requeued.attributes.origin, 'test', 'its attributes are kept');
    assert.equal(requeued.attributes[ATTEMPT_ATTRIBUTE], '1');
    const notBefore = Number(requeued.attributes[NOT_BEFORE_ATTRIBUTE]);
    assert.ok(notBefore >= before + 200 && notBefore <= Date.now() + 400, `not-before ${notBefore - before} ms after the invocation began`);

    // An early arrival beyond the budget: not run, and nothing published (no busy loop): it is nacked.
    const early = lockedHandler({ identifier: keyOf, pubsub, earlyArrivalBudgetMs: 0 }, () => runs++);
    const publish = sinon.spy(Topic.prototype, 'publishMessage');
    await assert.rejects(early(eventOfMessage(topic, requeued)), EarlyDeliveryError);
    assert.equal(runs, 0);
    assert.equal(publish.callCount, 0);

    // After release, the re-queued message runs exactly once.
    await held?.release();
    await handler(eventOfMessage(topic, requeued));
    assert.equal(runs, 1);
    assert.equal(publish.callCount, 0, 'running it published nothing');
  });

  it('an early arrival within the budget waits in the invocation, then runs', async () => {
    let ranAt = 0;
    const handler = lockedHandler({ identifier: keyOf, pubsub, earlyArrivalBudgetMs: 1000 }, () => {
      ranAt = Date.now();
    });
    const notBefore = Date.now() + 200;
    await handler(pubsubEvent('projects/p/topics/unused', { key: uniqueId('early') }, { [ATTEMPT_ATTRIBUTE]: '1', [NOT_BEFORE_ATTRIBUTE]: String(notBefore) }));
    assert.ok(ranAt >= notBefore, 'it ran, not before its time');
  });

  it('wait: false drops the message while the lock is held: acknowledged, handler not run, nothing published', async () => {
    const key = uniqueId('drop');
    const held = await Lock.acquire(`job:${key}`);
    let runs = 0;
    const publish = sinon.spy(Topic.prototype, 'publishMessage');
    await lockedHandler({ identifier: keyOf, pubsub, wait: false }, () => runs++)(pubsubEvent('projects/p/topics/unused', { key }));
    assert.equal(runs, 0);
    assert.equal(publish.callCount, 0);
    await held?.release();
  });

  it('a failed re-publish makes the invocation throw, so Pub/Sub redelivers the original', async () => {
    const { topic } = await topicWithSubscription(pubsub, 'publish-fails');
    const key = uniqueId('publish-fails');
    const held = await Lock.acquire(`job:${key}`);
    sinon.stub(Topic.prototype, 'publishMessage').rejects(Object.assign(new Error('14 UNAVAILABLE: injected'), { code: 14 }));
    const handler = lockedHandler({ identifier: keyOf, pubsub, waitBudgetMs: 0 }, () => assert.fail('must not run'));
    await assert.rejects(handler(pubsubEvent(topic, { key })), /UNAVAILABLE/);
    assert.equal((await peek(`job:${key}`))?.token, held?.token, 'the holder is untouched');
    await held?.release();
  });

  it('after maxAttempts, dead-letters the message with its attempt attributes', async () => {
    const work = await topicWithSubscription(pubsub, 'work');
    const dead = await topicWithSubscription(pubsub, 'dead');
    const key = uniqueId('dead');
    const held = await Lock.acquire(`job:${key}`);
    const handler = lockedHandler({ identifier: keyOf, pubsub, waitBudgetMs: 0, maxAttempts: 2, deadLetterTopic: dead.topic, earlyArrivalBudgetMs: 60_000 }, () =>
      assert.fail('must not run'),
    );
    await handler(pubsubEvent(work.topic, { key }, { origin: 'test' }));
    const [first] = await pull(work.subscription, 1);
    assert.ok(first);
    await handler(eventOfMessage(work.topic, first));
    const [second] = await pull(work.subscription, 1);
    assert.equal(second?.attributes[ATTEMPT_ATTRIBUTE], '2');
    await handler(eventOfMessage(work.topic, second as NonNullable<typeof second>));
    const [deadLettered] = await pull(dead.subscription, 1);
    assert.ok(deadLettered, 'dead-lettered after 2 re-queues');
    assert.equal(deadLettered.attributes[ATTEMPT_ATTRIBUTE], '2');
    assert.equal(deadLettered.attributes[DEAD_LETTER_REASON_ATTRIBUTE], 'lock_held');
    assert.equal(deadLettered.attributes.origin, 'test');
    assert.equal((await pull(work.subscription, 1, 500)).length, 0, 'not re-queued again');
    await held?.release();
  });

  it('without a dead-letter topic, logs an error and acknowledges after maxAttempts', async () => {
    const key = uniqueId('abandon');
    const held = await Lock.acquire(`job:${key}`);
    const errors: string[] = [];
    sinon.stub(process.stderr, 'write').callsFake((chunk: string | Uint8Array) => errors.push(String(chunk)) > 0);
    const publish = sinon.spy(Topic.prototype, 'publishMessage');
    const handler = lockedHandler({ identifier: keyOf, pubsub, waitBudgetMs: 0, maxAttempts: 1 }, () => assert.fail('must not run'));
    await handler(pubsubEvent('projects/p/topics/unused', { key }, { [ATTEMPT_ATTRIBUTE]: '1' }));
    sinon.restore();
    assert.equal(publish.callCount, 0);
    const entry = JSON.parse(errors.find((line) => line.includes('maxAttempts')) ?? '{}');
    assert.equal(entry.severity, 'ERROR');
    assert.equal(entry.outcome, 'abandoned');
    await held?.release();
  });

  it("releases when the handler throws, and the handler's error propagates", async () => {
    const key = uniqueId('throws');
    const handler = lockedHandler({ identifier: keyOf, pubsub }, () => {
      throw new Error('handler failed');
    });
    await assert.rejects(handler(pubsubEvent('projects/p/topics/unused', { key })), /handler failed/);
    assert.equal(await peek(`job:${key}`), null);
  });

  it('refuses bad options when the function is defined', () => {
    const bad = [{}, { identifier: keyOf, maxAttempts: -1 }, { identifier: keyOf, backoff: { multiplier: 0.5 } }, { identifier: keyOf, waitBudgetMs: -1 }, { identifier: keyOf, topic: '' }];
    for (const options of bad) {
      assert.throws(() => lockedHandler(options as never, () => undefined), LockError, JSON.stringify(options));
    }
  });
});
