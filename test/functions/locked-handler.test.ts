import {strict as assert} from 'node:assert';
import {Topic, type PubSub} from '@google-cloud/pubsub';
import sinon from 'sinon';
import {
  ATTEMPT_ATTRIBUTE,
  DEAD_LETTER_REASON_ATTRIBUTE,
  EarlyDeliveryError,
  lockedHandler,
  LockStillHeldError,
  NOT_BEFORE_ATTRIBUTE,
  ORDERING_KEY_ATTRIBUTE,
  type PubSubCloudEvent,
} from '../../shared/pubsub';
import {configureLocking, Lock, LockError, LockKind, peek} from '../../shared';
import {cloudLoggingLogger} from '../../functions/cloud-logging';
import {delay, uniqueId} from '../support/ids';
import {
  eventOfMessage,
  keyOf,
  pubsubClient,
  pubsubEvent,
  pull,
  serveCloudEvent,
  topicPushingTo,
  topicWithSubscription,
} from '../support/pubsub-fixtures';
import {STRONG_TARGETS} from '../support/strong-targets';
import {warmUp} from '../support/warm-up';

/**
 * lockedHandler invoked directly with CloudEvents, re-queueing through the real Pub/Sub emulator, on
 * every STRONG store. The re-queue is what a STRONG handler does with `waitingRoom: false` (and a
 * WEAK one always); the waiting room has its own suite (locked-handler-waiting-room.test.ts).
 */
for (const target of STRONG_TARGETS) {
  describe(`lockedHandler on the Pub/Sub emulator: ${target.name}`, () => {
    let pubsub: PubSub;

    beforeEach(async () => {
      pubsub = pubsubClient();
      // Logging as the functions do: structured lines on stdout and stderr (some tests read them).
      configureLocking({...target.config(), logger: cloudLoggingLogger});
      // The handler's wait budget (500 ms by default) also bounds its store calls: the first call
      // on a new channel to a cold emulator can take longer on a busy machine.
      await warmUp(LockKind.STRONG);
    });
    afterEach(async () => {
      sinon.restore();
      await pubsub.close();
    });
    after(() => configureLocking());

    it('runs the handler under the lock and releases it after', async () => {
      const key = uniqueId('run');
      const seen: (string | undefined)[] = [];
      const handler = lockedHandler({identifier: keyOf, pubsub}, async () => {
        seen.push((await peek(`job:${key}`))?.holderId);
      });
      await handler(pubsubEvent('projects/p/topics/unused', {key}));
      assert.equal(seen.length, 1);
      assert.ok(seen[0], 'the lock was held while the handler ran');
      assert.equal(await peek(`job:${key}`), null, 'and released after');
    });

    it('with the lock held, re-publishes the message to its retry topic with attempt 1 and a later not-before, and does not run the handler', async () => {
      const {topic, subscription} = await topicWithSubscription(
        pubsub,
        'requeue',
      );
      const key = uniqueId('held');
      const held = await Lock.acquire(`job:${key}`);
      let runs = 0;
      const handler = lockedHandler(
        {
          identifier: keyOf,
          pubsub,
          retryTopic: topic,
          waitingRoom: false,
          waitBudgetMs: 50,
          backoff: {initialMs: 400, maxMs: 400},
        },
        () => runs++,
      );
      const before = Date.now();
      await handler(
        pubsubEvent('projects/p/topics/work', {key}, {origin: 'test'}),
      );
      assert.equal(runs, 0);
      const [requeued] = await pull(subscription, 1);
      assert.ok(requeued, 'the message was re-published to the retry topic');
      assert.deepEqual(JSON.parse(requeued.data.toString()), {key});
      assert.equal(
        requeued.attributes.origin,
        'test',
        'its attributes are kept',
      );
      assert.equal(requeued.attributes[ATTEMPT_ATTRIBUTE], '1');
      const notBefore = Number(requeued.attributes[NOT_BEFORE_ATTRIBUTE]);
      assert.ok(
        notBefore >= before + 200 && notBefore <= Date.now() + 400,
        `not-before ${notBefore - before} ms after the invocation began`,
      );

      // An early arrival beyond the budget: not run, and nothing published (no busy loop): it is nacked.
      const early = lockedHandler(
        {identifier: keyOf, pubsub, earlyArrivalBudgetMs: 0},
        () => runs++,
      );
      const publish = sinon.spy(Topic.prototype, 'publishMessage');
      await assert.rejects(
        early(eventOfMessage(topic, requeued)),
        EarlyDeliveryError,
      );
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
      const handler = lockedHandler(
        {identifier: keyOf, pubsub, earlyArrivalBudgetMs: 1000},
        () => {
          ranAt = Date.now();
        },
      );
      const notBefore = Date.now() + 200;
      await handler(
        pubsubEvent(
          'projects/p/topics/unused',
          {key: uniqueId('early')},
          {[ATTEMPT_ATTRIBUTE]: '1', [NOT_BEFORE_ATTRIBUTE]: String(notBefore)},
        ),
      );
      assert.ok(ranAt >= notBefore, 'it ran, not before its time');
    });

    it('wait: false drops the message while the lock is held: acknowledged, handler not run, nothing published', async () => {
      const key = uniqueId('drop');
      const held = await Lock.acquire(`job:${key}`);
      let runs = 0;
      const publish = sinon.spy(Topic.prototype, 'publishMessage');
      await lockedHandler(
        {identifier: keyOf, pubsub, wait: false},
        () => runs++,
      )(pubsubEvent('projects/p/topics/unused', {key}));
      assert.equal(runs, 0);
      assert.equal(publish.callCount, 0);
      await held?.release();
    });

    it('a failed re-publish makes the invocation throw, so Pub/Sub redelivers the original', async () => {
      const {topic} = await topicWithSubscription(pubsub, 'publish-fails');
      const key = uniqueId('publish-fails');
      const held = await Lock.acquire(`job:${key}`);
      sinon
        .stub(Topic.prototype, 'publishMessage')
        .rejects(
          Object.assign(new Error('14 UNAVAILABLE: injected'), {code: 14}),
        );
      const handler = lockedHandler(
        {
          identifier: keyOf,
          pubsub,
          retryTopic: topic,
          waitingRoom: false,
          waitBudgetMs: 0,
        },
        () => assert.fail('must not run'),
      );
      await assert.rejects(
        handler(pubsubEvent('projects/p/topics/work', {key})),
        /UNAVAILABLE/,
      );
      assert.equal(
        (await peek(`job:${key}`))?.holderId,
        held?.holderId,
        'the holder is untouched',
      );
      await held?.release();
    });

    it('after maxAttempts, dead-letters the message with its attempt attributes', async () => {
      const work = await topicWithSubscription(pubsub, 'work');
      const dead = await topicWithSubscription(pubsub, 'dead');
      const key = uniqueId('dead');
      const held = await Lock.acquire(`job:${key}`);
      const handler = lockedHandler(
        {
          identifier: keyOf,
          pubsub,
          retryTopic: work.topic,
          waitingRoom: false,
          waitBudgetMs: 0,
          maxAttempts: 2,
          deadLetterTopic: dead.topic,
          earlyArrivalBudgetMs: 60_000,
        },
        () => assert.fail('must not run'),
      );
      await handler(pubsubEvent(work.topic, {key}, {origin: 'test'}));
      const [first] = await pull(work.subscription, 1);
      assert.ok(first);
      await handler(eventOfMessage(work.topic, first));
      const [second] = await pull(work.subscription, 1);
      assert.equal(second?.attributes[ATTEMPT_ATTRIBUTE], '2');
      await handler(
        eventOfMessage(work.topic, second as NonNullable<typeof second>),
      );
      const [deadLettered] = await pull(dead.subscription, 1);
      assert.ok(deadLettered, 'dead-lettered after 2 re-queues');
      assert.equal(deadLettered.attributes[ATTEMPT_ATTRIBUTE], '2');
      assert.equal(
        deadLettered.attributes[DEAD_LETTER_REASON_ATTRIBUTE],
        'lock_held',
      );
      assert.equal(deadLettered.attributes.origin, 'test');
      assert.equal(
        (await pull(work.subscription, 1, 500)).length,
        0,
        'not re-queued again',
      );
      await held?.release();
    });

    it('without a dead-letter topic, after maxAttempts the delivery fails (never acknowledged) and one ERROR line says why, without the token', async () => {
      const {topic} = await topicWithSubscription(pubsub, 'max-attempts');
      const key = uniqueId('max-attempts');
      const held = await Lock.acquire(`job:${key}`);
      const errors: string[] = [];
      sinon
        .stub(process.stderr, 'write')
        .callsFake(
          (chunk: string | Uint8Array) => errors.push(String(chunk)) > 0,
        );
      const publish = sinon.spy(Topic.prototype, 'publishMessage');
      const handler = lockedHandler(
        {
          identifier: keyOf,
          pubsub,
          retryTopic: topic,
          waitingRoom: false,
          waitBudgetMs: 0,
          maxAttempts: 1,
        },
        () => assert.fail('must not run'),
      );
      const outcome = await handler(
        pubsubEvent(
          'projects/p/topics/work',
          {key},
          {[ATTEMPT_ATTRIBUTE]: '1'},
        ),
      ).then(
        () => 'resolved (acknowledged)',
        (error: unknown) => error,
      );
      sinon.restore();
      assert.ok(
        outcome instanceof LockStillHeldError,
        `the invocation rejected, so Pub/Sub does not acknowledge: ${String(outcome)}`,
      );
      assert.equal(publish.callCount, 0, 'not re-queued past maxAttempts');
      const lines = errors.filter(line => line.includes('maxAttempts'));
      assert.equal(lines.length, 1, 'one line');
      const entry = JSON.parse(lines[0] as string);
      assert.equal(entry.severity, 'ERROR');
      assert.equal(entry.outcome, 'max_attempts_redelivery');
      assert.equal(entry.identifier, `job:${key}`);
      assert.ok(
        held && !(lines[0] as string).includes(held.token),
        "the holder's token is not logged",
      );
      await held?.release();
    });

    it("without a dead-letter topic, a message whose lock stays held is kept by the subscription's own dead-letter policy (pushed through the Functions Framework)", async function () {
      this.timeout(60_000);
      const dead = await topicWithSubscription(pubsub, 'sub-dead');
      const key = uniqueId('kept');
      const held = await Lock.acquire(`job:${key}`);
      const deliveries: number[] = [];
      sinon.stub(process.stderr, 'write').returns(true);
      let handler: (event: PubSubCloudEvent) => Promise<void> = () =>
        Promise.reject(new Error('not ready'));
      const server = await serveCloudEvent('kept', (event: PubSubCloudEvent) =>
        handler(event),
      );
      try {
        const delivery = {
          retryPolicy: {
            minimumBackoff: {seconds: 1},
            maximumBackoff: {seconds: 1},
          },
          deadLetterPolicy: {
            deadLetterTopic: dead.topic,
            maxDeliveryAttempts: 5,
          },
        };
        const retry = await topicPushingTo(
          pubsub,
          'kept-retry',
          server.baseUrl,
          delivery,
        );
        handler = lockedHandler(
          {
            identifier: event => (
              deliveries.push(
                Number(
                  event.data?.message?.attributes?.[ATTEMPT_ATTRIBUTE] ?? 0,
                ),
              ),
              keyOf(event)
            ),
            pubsub,
            retryTopic: retry.topic,
            waitingRoom: false,
            waitBudgetMs: 0,
            maxAttempts: 1,
            backoff: {initialMs: 50, maxMs: 50},
            earlyArrivalBudgetMs: 1000,
          },
          () => assert.fail('must not run'),
        );
        const work = await topicPushingTo(
          pubsub,
          'kept-work',
          server.baseUrl,
          delivery,
        );
        await work.publisher.publishMessage({json: {key}});
        const [deadLettered] = await pull(dead.subscription, 1, 40_000);
        assert.ok(
          deadLettered,
          `the subscription dead-lettered it: not dropped (deliveries seen: ${deliveries.join(',')})`,
        );
        assert.deepEqual(JSON.parse(deadLettered.data.toString()), {key});
        assert.equal(
          deadLettered.attributes[ATTEMPT_ATTRIBUTE],
          '1',
          're-queued once, then failed until the retry subscription gave up',
        );
        assert.ok(
          deliveries.filter(attempt => attempt === 1).length >= 5,
          `redelivered by the retry subscription: ${deliveries.join(',')}`,
        );
      } finally {
        sinon.restore();
        await server.close();
        await held?.release();
      }
    });

    it('without a retryTopic, a held lock fails the delivery (redelivered by the subscription alone) and publishes nothing', async () => {
      const key = uniqueId('no-retry-topic');
      const held = await Lock.acquire(`job:${key}`);
      const publish = sinon.spy(Topic.prototype, 'publishMessage');
      const handler = lockedHandler(
        {identifier: keyOf, pubsub, waitBudgetMs: 0},
        () => assert.fail('must not run'),
      );
      await assert.rejects(
        handler(pubsubEvent('projects/p/topics/work', {key})),
        LockStillHeldError,
      );
      assert.equal(publish.callCount, 0);
      await held?.release();
    });

    it('a re-queued copy keeps the ordering key, also after a push through the Functions Framework dropped the field', async () => {
      const retry = await topicWithSubscription(pubsub, 'ordering');
      const key = uniqueId('ordering');
      const held = await Lock.acquire(`job:${key}`);
      const handler = lockedHandler(
        {
          identifier: keyOf,
          pubsub,
          retryTopic: retry.topic,
          waitingRoom: false,
          waitBudgetMs: 0,
          earlyArrivalBudgetMs: 60_000,
        },
        () => assert.fail('must not run'),
      );
      const first = pubsubEvent('projects/p/topics/work', {key});
      await handler({
        ...first,
        data: {message: {...first.data.message, orderingKey: 'account-7'}},
      });
      const [copy] = await pull(retry.subscription, 1);
      assert.equal(
        copy?.orderingKey,
        'account-7',
        'the copy was published with the original ordering key',
      );
      assert.equal(copy?.attributes[ORDERING_KEY_ATTRIBUTE], 'account-7');
      // What the framework hands the function for the copy: data and attributes, no orderingKey field.
      await handler(
        eventOfMessage(retry.topic, copy as NonNullable<typeof copy>),
      );
      const [again] = await pull(retry.subscription, 1);
      assert.equal(again?.orderingKey, 'account-7');
      assert.equal(again?.attributes[ATTEMPT_ATTRIBUTE], '2');
      await held?.release();
    });

    it('re-queued copies reach only the retry subscription: an audit subscription on the work topic gets each event once (push to the Functions Framework)', async function () {
      this.timeout(60_000);
      const EVENTS = 3;
      const REQUEUES = 3;
      const run = uniqueId('audit');
      const held = await Promise.all(
        Array.from({length: EVENTS}, (_, i) => Lock.acquire(`job:${run}-${i}`)),
      );
      const attempts = new Map<string, number>();
      const ran: string[] = [];
      sinon.stub(process.stdout, 'write').returns(true);
      let handler: (event: PubSubCloudEvent) => Promise<void> = () =>
        Promise.reject(new Error('not ready'));
      const server = await serveCloudEvent('audit', (event: PubSubCloudEvent) =>
        handler(event),
      );
      try {
        const retry = await topicPushingTo(
          pubsub,
          'audit-retry',
          server.baseUrl,
        );
        handler = lockedHandler(
          {
            identifier: event => {
              const id = keyOf(event);
              attempts.set(
                id,
                Math.max(
                  attempts.get(id) ?? 0,
                  Number(
                    event.data?.message?.attributes?.[ATTEMPT_ATTRIBUTE] ?? 0,
                  ),
                ),
              );
              return id;
            },
            pubsub,
            retryTopic: retry.topic,
            waitingRoom: false,
            waitBudgetMs: 0,
            backoff: {initialMs: 50, maxMs: 100},
            maxAttempts: 100,
          },
          event => void ran.push(keyOf(event)),
        );
        const work = await topicPushingTo(pubsub, 'audit-work', server.baseUrl);
        const [audit] = await pubsub
          .topic(work.topic)
          .createSubscription(`audit-${run.replace(/[^a-zA-Z0-9-]/g, '-')}`, {
            ackDeadlineSeconds: 10,
          });
        for (let i = 0; i < EVENTS; i++)
          await work.publisher.publishMessage({json: {key: `${run}-${i}`}});

        const everyRequeued = () =>
          attempts.size === EVENTS &&
          [...attempts.values()].every(attempt => attempt >= REQUEUES);
        for (
          const deadline = Date.now() + 30_000;
          !everyRequeued() && Date.now() < deadline;
        )
          await delay(100);
        assert.ok(
          everyRequeued(),
          `each event was re-queued ${REQUEUES} times: ${JSON.stringify([...attempts])}`,
        );
        await Promise.all(held.map(lock => lock?.release()));
        for (
          const deadline = Date.now() + 30_000;
          ran.length < EVENTS && Date.now() < deadline;
        )
          await delay(100);
        assert.deepEqual(
          [...ran].sort(),
          Array.from({length: EVENTS}, (_, i) => `job:${run}-${i}`).sort(),
          'each event ran once, after its lock was released',
        );

        // Pull for more than could be right, long enough for every copy to have arrived.
        const audited = await pull(audit, EVENTS * (REQUEUES + 1), 3000);
        assert.deepEqual(
          audited
            .map(message => JSON.parse(message.data.toString()).key)
            .sort(),
          Array.from({length: EVENTS}, (_, i) => `${run}-${i}`).sort(),
          'one copy per event',
        );
        assert.ok(
          audited.every(
            message => message.attributes[ATTEMPT_ATTRIBUTE] === undefined,
          ),
          'and no re-queued copy',
        );
      } finally {
        sinon.restore();
        await server.close();
        await Promise.all(held.map(lock => lock?.release().catch(() => false)));
      }
    });

    it("releases when the handler throws, and the handler's error propagates", async () => {
      const key = uniqueId('throws');
      const handler = lockedHandler({identifier: keyOf, pubsub}, () => {
        throw new Error('handler failed');
      });
      await assert.rejects(
        handler(pubsubEvent('projects/p/topics/unused', {key})),
        /handler failed/,
      );
      assert.equal(await peek(`job:${key}`), null);
    });
  });
}

describe('lockedHandler options', () => {
  it('refuses bad options when the function is defined', () => {
    const bad = [
      {},
      {identifier: keyOf, retryTopic: 't', maxAttempts: -1},
      {identifier: keyOf, retryTopic: 't', backoff: {multiplier: 0.5}},
      {identifier: keyOf, waitBudgetMs: -1},
      {identifier: keyOf, retryTopic: ''},
      // `topic` is the older name of `retryTopic`; both at once must agree.
      {identifier: keyOf, topic: 'a', retryTopic: 'b'},
      // These count re-queues; without a retry topic nothing is re-queued.
      {identifier: keyOf, maxAttempts: 3},
      {identifier: keyOf, deadLetterTopic: 'dead'},
      {identifier: keyOf, backoff: {initialMs: 10}},
    ];
    for (const options of bad) {
      assert.throws(
        () => lockedHandler(options as never, () => undefined),
        LockError,
        JSON.stringify(options),
      );
    }
    assert.throws(
      () => lockedHandler({identifier: keyOf, maxAttempts: 3}, () => undefined),
      /maxAttempts need retryTopic/,
    );
    // The name issue 4 gave the option still works, with the retry topic's meaning.
    assert.doesNotThrow(() =>
      lockedHandler(
        {identifier: keyOf, topic: 'retry', maxAttempts: 3},
        () => undefined,
      ),
    );
  });
});
