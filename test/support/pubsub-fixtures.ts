import type {AddressInfo} from 'node:net';
import {cloudEvent, type CloudEvent} from '@google-cloud/functions-framework';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import {
  PubSub,
  type Message,
  type Subscription,
  type Topic,
} from '@google-cloud/pubsub';
import type {PubSubCloudEvent} from '../../shared/pubsub';
import {TEST_PROJECT} from './global-setup';
import {uniqueId} from './ids';

/** A client of the run's Pub/Sub emulator (PUBSUB_EMULATOR_HOST, set by the global fixture). */
export function pubsubClient(): PubSub {
  return new PubSub({projectId: TEST_PROJECT});
}

/** A fresh topic with a pull subscription on it, so a test can read back what was published. */
export async function topicWithSubscription(
  pubsub: PubSub,
  label: string,
): Promise<{topic: string; subscription: Subscription}> {
  const name = uniqueId(label).replace(/[^a-zA-Z0-9-]/g, '-');
  const [topic] = await pubsub.createTopic(`t-${name}`);
  const [subscription] = await topic.createSubscription(`s-${name}`, {
    ackDeadlineSeconds: 10,
  });
  return {topic: topic.name, subscription};
}

/** Pulls until `count` messages arrived or `timeoutMs` passed; acknowledges them. */
export async function pull(
  subscription: Subscription,
  count: number,
  timeoutMs = 5000,
): Promise<Message[]> {
  const messages: Message[] = [];
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, timeoutMs);
    subscription.on('message', (message: Message) => {
      message.ack();
      messages.push(message);
      if (messages.length >= count) done();
    });
    function done() {
      clearTimeout(timer);
      subscription.removeAllListeners('message');
      void subscription.close().then(resolve, resolve);
    }
  });
  return messages;
}

/** The CloudEvent Eventarc (and the Functions Framework, from a push) hands a Pub/Sub-triggered function. */
export function pubsubEvent(
  topic: string,
  data: unknown,
  attributes: Record<string, string> = {},
  messageId = uniqueId('msg'),
) {
  return {
    specversion: '1.0',
    id: messageId,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: `//pubsub.googleapis.com/${topic}`,
    data: {
      message: {
        data: Buffer.from(JSON.stringify(data)).toString('base64'),
        attributes,
        messageId,
      },
    },
  };
}

/** The CloudEvent for a message pulled back from a subscription, as its next delivery would carry it. */
export function eventOfMessage(topic: string, message: Message) {
  return {
    specversion: '1.0',
    id: message.id,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: `//pubsub.googleapis.com/${topic}`,
    data: {
      message: {
        data: message.data.toString('base64'),
        attributes: {...message.attributes},
        messageId: message.id,
      },
    },
  };
}

/**
 * A CloudEvent function served by the Functions Framework (its own Express app, as
 * `functions-framework --target` serves it) on a free port of 127.0.0.1, so the Pub/Sub emulator
 * can push to it: a 2xx acknowledges, a thrown error nacks. Registered under a fresh name.
 */
export async function serveCloudEvent<T>(
  label: string,
  handler: (event: CloudEvent<T>) => unknown,
): Promise<{baseUrl: string; close: () => Promise<void>}> {
  const name = uniqueId(label).replace(/[^a-zA-Z0-9]/g, '');
  cloudEvent(name, handler);
  const server = getTestServer(name);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface PushDelivery {
  readonly ackDeadlineSeconds?: number;
  /**
   * Default 1 s to 1 s. `null`: none, so the emulator delivers a failed push again after its own
   * 1 s (a retry policy can lose messages on it: test/support/worker-instance.ts says how).
   */
  readonly retryPolicy?: {
    readonly minimumBackoff: {readonly seconds: number};
    readonly maximumBackoff: {readonly seconds: number};
  } | null;
  readonly deadLetterPolicy?: {
    readonly deadLetterTopic: string;
    readonly maxDeliveryAttempts: number;
  };
}

/**
 * A fresh topic whose push subscription delivers to `baseUrl`, at the path the Functions Framework
 * reads the topic from. Returns the topic's full name and a handle that publishes one message per
 * awaited call (ordering on, so a test can give an ordering key).
 */
export async function topicPushingTo(
  pubsub: PubSub,
  label: string,
  baseUrl: string,
  delivery: PushDelivery = {},
): Promise<{topic: string; publisher: Topic}> {
  const name = uniqueId(label).replace(/[^a-zA-Z0-9-]/g, '-');
  const [topic] = await pubsub.createTopic(`t-${name}`);
  await topic.createSubscription(`push-${name}`, {
    pushConfig: {pushEndpoint: `${baseUrl}/${topic.name}`},
    ackDeadlineSeconds: delivery.ackDeadlineSeconds ?? 10,
    ...(delivery.retryPolicy === null
      ? {}
      : {
          retryPolicy: delivery.retryPolicy ?? {
            minimumBackoff: {seconds: 1},
            maximumBackoff: {seconds: 1},
          },
        }),
    ...(delivery.deadLetterPolicy
      ? {deadLetterPolicy: delivery.deadLetterPolicy}
      : {}),
  });
  return {
    topic: topic.name,
    publisher: pubsub.topic(topic.name, {
      batching: {maxMessages: 1},
      messageOrdering: true,
    }),
  };
}

/**
 * The lock identifier the tests' handlers use: `job:` and the `key` of the message's JSON data, as
 * the examples read theirs. Data that is not JSON makes it throw.
 */
export const keyOf = (event: PubSubCloudEvent) =>
  `job:${JSON.parse(Buffer.from(event.data?.message?.data ?? '', 'base64').toString()).key}`;
