import type {PubSub, Topic} from '@google-cloud/pubsub';

/**
 * Publishes re-queued and dead-lettered messages. The Pub/Sub client is loaded on the first
 * publish, so a worker whose lock is never contended never loads it. One publish is one message:
 * batching is off, because the caller awaits it before acknowledging the original (by default
 * the client waits up to 10 ms to fill a batch). Ordering is on, so a copy can keep the original's
 * ordering key (the client refuses a key otherwise).
 */
export class Publisher {
  private client: Promise<PubSub> | undefined;
  private readonly topics = new Map<string, Topic>();

  constructor(private readonly given?: PubSub) {}

  async publish(
    topic: string,
    data: Buffer,
    attributes: Record<string, string>,
    orderingKey = '',
  ): Promise<string> {
    const target = await this.topic(topic);
    try {
      return await target.publishMessage({
        data,
        attributes,
        ...(orderingKey ? {orderingKey} : {}),
      });
    } catch (error) {
      // The client pauses a key after a failed publish; the caller's error makes Pub/Sub redeliver
      // the original, whose re-queue must then be able to publish on that key again.
      if (orderingKey) target.resumePublishing(orderingKey);
      throw error;
    }
  }

  private async topic(name: string): Promise<Topic> {
    let topic = this.topics.get(name);
    if (!topic) {
      const client = await (this.client ??= this.createClient());
      topic = client.topic(name, {
        batching: {maxMessages: 1},
        messageOrdering: true,
      });
      this.topics.set(name, topic);
    }
    return topic;
  }

  private async createClient(): Promise<PubSub> {
    if (this.given) return this.given;
    const {PubSub} = await import('@google-cloud/pubsub');
    return new PubSub();
  }
}
