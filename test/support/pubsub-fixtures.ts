import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { TEST_PROJECT } from './global-setup';
import { uniqueId } from './ids';

/** A client of the run's Pub/Sub emulator (PUBSUB_EMULATOR_HOST, set by the global fixture). */
export function pubsubClient(): PubSub {
  return new PubSub({ projectId: TEST_PROJECT });
}

/** A fresh topic with a pull subscription on it, so a test can read back what was published. */
export async function topicWithSubscription(pubsub: PubSub, label: string): Promise<{ topic: string; subscription: Subscription }> {
  const name = uniqueId(label).replace(/[^a-zA-Z0-9-]/g, '-');
  const [topic] = await pubsub.createTopic(`t-${name}`);
  const [subscription] = await topic.createSubscription(`s-${name}`, { ackDeadlineSeconds: 10 });
  return { topic: topic.name, subscription };
}

/** Pulls until `count` messages arrived or `timeoutMs` passed; acknowledges them. */
export async function pull(subscription: Subscription, count: number, timeoutMs = 5000): Promise<Message[]> {
  const messages: Message[] = [];
  await new Promise<void>((resolve) => {
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
export function pubsubEvent(topic: string, data: unknown, attributes: Record<string, string> = {}, messageId = uniqueId('msg')) {
  return {
    specversion: '1.0',
    id: messageId,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: `//pubsub.googleapis.com/${topic}`,
    data: { message: { data: Buffer.from(JSON.stringify(data)).toString('base64'), attributes, messageId } },
  };
}

/** The CloudEvent for a message pulled back from a subscription, as its next delivery would carry it. */
export function eventOfMessage(topic: string, message: Message) {
  return {
    specversion: '1.0',
    id: message.id,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: `//pubsub.googleapis.com/${topic}`,
    data: { message: { data: message.data.toString('base64'), attributes: { ...message.attributes }, messageId: message.id } },
  };
}
