import {strict as assert} from 'node:assert';
import type {PubSub} from '@google-cloud/pubsub';
import {ATTEMPT_ATTRIBUTE, lockedHandler} from '../../shared/pubsub';
import {configureLocking, Lock} from '../../shared';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {delay, uniqueId} from '../support/ids';
import {OtelMemory} from '../support/otel-memory';
import {
  keyOf,
  pubsubClient,
  pubsubEvent,
  pull,
  topicWithSubscription,
} from '../support/pubsub-fixtures';

/** lockedHandler's spans and counters, on the Pub/Sub and Datastore emulators. */
describe('lockedHandler telemetry', () => {
  let pubsub: PubSub;
  let otel: OtelMemory;
  beforeEach(() => {
    otel = OtelMemory.register();
    pubsub = pubsubClient();
    configureLocking({datastore: DATASTORE_TARGETS[0]?.client()});
  });
  afterEach(async () => {
    await otel.unregister();
    await pubsub.close();
  });
  after(() => configureLocking());

  it('a run is a locking.handler.run span after its acquire span', async () => {
    const handler = lockedHandler({identifier: keyOf, pubsub}, () => undefined);
    await handler(
      pubsubEvent('projects/p/topics/unused', {key: uniqueId('otel-run')}),
    );
    const [run] = otel.spans('locking.handler.run');
    assert.equal(run?.attributes['locking.outcome'], 'ran');
    assert.equal(
      otel.spans('locking.acquire')[0]?.attributes['locking.outcome'],
      'acquired',
    );
    assert.equal(
      otel.spans('locking.release')[0]?.attributes['locking.outcome'],
      'released',
    );
  });

  it('a held lock: the re-queue is a span and counts in locking.handler.requeues; past maxAttempts, locking.handler.dead_letters', async () => {
    const retry = await topicWithSubscription(pubsub, 'otel-retry');
    const dead = await topicWithSubscription(pubsub, 'otel-dead');
    const key = uniqueId('otel-held');
    const held = await Lock.acquire(`job:${key}`);
    assert.ok(held);
    const handler = lockedHandler(
      {
        identifier: keyOf,
        pubsub,
        retryTopic: retry.topic,
        // The re-queue path: with the waiting room (the default) a held message parks instead.
        waitingRoom: false,
        waitBudgetMs: 0,
        maxAttempts: 1,
        deadLetterTopic: dead.topic,
        earlyArrivalBudgetMs: 60_000,
      },
      () => assert.fail('must not run while the lock is held'),
    );
    await handler(pubsubEvent('projects/p/topics/work', {key}));
    const [requeued] = await pull(retry.subscription, 1);
    assert.equal(requeued?.attributes[ATTEMPT_ATTRIBUTE], '1');
    await handler(
      pubsubEvent('projects/p/topics/work', {key}, {...requeued?.attributes}),
    );
    assert.ok((await pull(dead.subscription, 1))[0], 'dead-lettered');
    await held.release();

    const outcomes = otel
      .spans('locking.handler.requeue')
      .map(span => span.attributes['locking.outcome']);
    assert.deepEqual(outcomes, ['requeued', 'dead_lettered']);
    assert.equal(
      await otel.count('locking.handler.requeues', {'locking.kind': 'STRONG'}),
      1,
    );
    assert.equal(await otel.count('locking.handler.dead_letters'), 1);
    assert.equal(
      await otel.count('locking.acquisitions', {'locking.outcome': 'held'}),
      2,
    );
  });

  it('a message that names no lock: its dead letter is a span and counts in locking.handler.dead_letters with reason bad_message', async () => {
    const dead = await topicWithSubscription(pubsub, 'otel-bad');
    const handler = lockedHandler(
      {
        identifier: () => '',
        pubsub,
        retryTopic: dead.topic.replace(/\/t-/, '/retry-'),
        deadLetterTopic: dead.topic,
      },
      () => assert.fail('must not run'),
    );
    await handler(pubsubEvent('projects/p/topics/work', {key: 'x'}));
    assert.ok((await pull(dead.subscription, 1))[0], 'dead-lettered');
    assert.deepEqual(
      otel
        .spans('locking.handler.requeue')
        .map(span => span.attributes['locking.outcome']),
      ['dead_lettered'],
    );
    assert.equal(
      await otel.count('locking.handler.dead_letters', {
        'locking.reason': 'bad_message',
      }),
      1,
    );
  });

  it('the waiting room: a held message parks (locking.handler.parks), the release dispatches it (locking.handler.dispatches by release), woken it counts in locking.handler.wakes and locking.handler.parked_time', async () => {
    const retry = await topicWithSubscription(pubsub, 'otel-room');
    const key = uniqueId('otel-room');
    let letGo = () => {};
    const gate = new Promise<void>(resolve => (letGo = resolve));
    let runs = 0;
    const handler = lockedHandler(
      // drainBudgetMs 0: the wake-up is published (not run by the releasing invocation).
      {identifier: keyOf, pubsub, retryTopic: retry.topic, drainBudgetMs: 0},
      async () => {
        runs++;
        if (runs === 1) await gate;
      },
    );
    const first = handler(pubsubEvent('projects/p/topics/work', {key}));
    while (runs < 1) await delay(10);
    await handler(pubsubEvent('projects/p/topics/work', {key}));
    assert.equal(runs, 1, 'parked, not run');
    letGo();
    await first;
    const [wakeUp] = await pull(retry.subscription, 1);
    assert.ok(wakeUp, 'the release published the wake-up');
    await delay(20);
    await handler(
      pubsubEvent('projects/p/topics/work', {key}, {...wakeUp.attributes}),
    );
    assert.equal(runs, 2, 'woken, it ran');

    assert.equal(
      await otel.count('locking.handler.parks', {
        'locking.kind': 'STRONG',
        'locking.outcome': 'parked',
      }),
      1,
    );
    assert.equal(
      await otel.count('locking.handler.dispatches', {
        'locking.dispatched_by': 'release',
      }),
      1,
    );
    assert.equal(await otel.count('locking.handler.wakes'), 1);
    const parkedTime = (await otel.metrics()).find(
      metric => metric.name === 'locking.handler.parked_time',
    );
    const point = parkedTime?.points[0]?.value;
    assert.ok(point && typeof point !== 'number', 'a histogram');
    assert.equal(point.count, 1);
    assert.ok((point.min ?? 0) >= 20, `parked ${String(point.min)} ms`);
    assert.equal(await otel.count('locking.handler.requeues'), 0);
  });
});
