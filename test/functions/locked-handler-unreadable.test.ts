import {strict as assert} from 'node:assert';
import type {PubSub} from '@google-cloud/pubsub';
import {configureLocking, LockKind, MAX_IDENTIFIER_BYTES} from '../../shared';
import {
  DEAD_LETTER_DETAIL_ATTRIBUTE,
  DEAD_LETTER_REASON_ATTRIBUTE,
  lockedHandler,
  UnreadableMessageError,
  type PubSubCloudEvent,
} from '../../shared/pubsub';
import {uniqueId} from '../support/ids';
import {
  keyOf,
  pubsubClient,
  pubsubEvent,
  pull,
  topicWithSubscription,
} from '../support/pubsub-fixtures';
import {DEFAULT_STRONG_TARGET} from '../support/strong-targets';
import {warmUp} from '../support/warm-up';

/** A message whose base64 data is not JSON, as a producer's bug would publish it. */
function notJson(topic: string) {
  const event = pubsubEvent(topic, {}, {origin: 'test'});
  event.data.message.data = Buffer.from('{"key": ').toString('base64');
  return event;
}

/**
 * A message that names no lock fails the same way on every delivery: lockedHandler sends it to the
 * dead-letter topic with the reason, or, without one, fails the delivery with a typed error for the
 * subscription's own dead-letter policy. The handler never runs. On the real Pub/Sub emulator.
 */
describe('lockedHandler: a message that names no lock', () => {
  let pubsub: PubSub;
  beforeEach(async () => {
    pubsub = pubsubClient();
    configureLocking(DEFAULT_STRONG_TARGET.config());
    // The handler's store calls are bounded by its wait budget: a cold emulator's first call is slow.
    await warmUp(LockKind.STRONG);
  });
  afterEach(async () => pubsub.close());
  after(() => configureLocking());

  const cases: Array<[string, (event: PubSubCloudEvent) => unknown, RegExp]> = [
    ['identifier(event) throws', keyOf, /JSON/],
    ['identifier(event) answers an empty string', () => '', /empty/],
    [
      'identifier(event) answers a string too long for a lock',
      () => 'x'.repeat(MAX_IDENTIFIER_BYTES + 1),
      /bytes of UTF-8/,
    ],
    ['identifier(event) answers a number', () => 42, /must be a string/],
  ];
  for (const [what, identifier, detail] of cases) {
    it(`${what}: dead-lettered as bad_message with the reason, data and attributes kept, acknowledged`, async () => {
      const dead = await topicWithSubscription(pubsub, 'unreadable-dead');
      const handler = lockedHandler(
        {
          identifier: identifier as (event: PubSubCloudEvent) => string,
          pubsub,
          retryTopic: dead.topic.replace(/\/t-/, '/retry-'),
          deadLetterTopic: dead.topic,
        },
        () => assert.fail('the handler must not run'),
      );
      const event = notJson(uniqueId('work'));
      await handler(event);
      const [deadLettered] = await pull(dead.subscription, 1);
      assert.ok(deadLettered, 'on the dead-letter topic');
      assert.equal(
        deadLettered.attributes[DEAD_LETTER_REASON_ATTRIBUTE],
        'bad_message',
      );
      assert.match(
        deadLettered.attributes[DEAD_LETTER_DETAIL_ATTRIBUTE] ?? '',
        detail,
      );
      assert.equal(deadLettered.attributes.origin, 'test');
      assert.equal(deadLettered.data.toString(), '{"key": ');
    });
  }

  it('without a deadLetterTopic the delivery fails with UnreadableMessageError, naming the problem', async () => {
    const handler = lockedHandler({identifier: keyOf, pubsub}, () =>
      assert.fail('the handler must not run'),
    );
    await assert.rejects(
      handler(notJson(uniqueId('work'))),
      (error: unknown) =>
        error instanceof UnreadableMessageError &&
        /no lock identifier: .*JSON/.test(error.message),
    );
  });

  it('a readable message still runs', async () => {
    let ran = 0;
    const handler = lockedHandler({identifier: keyOf, pubsub}, () => {
      ran++;
    });
    await handler(pubsubEvent(uniqueId('work'), {key: uniqueId('ok')}));
    assert.equal(ran, 1);
  });
});
