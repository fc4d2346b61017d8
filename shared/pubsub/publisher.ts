import type { PubSub, Topic } from '@google-cloud/pubsub';

/**
 * Publishes re-queued and dead-lettered messages. The Pub/Sub client is loaded on the first
 * publish, so a worker whose lock is never contended never loads it. One publish is one message:
 * batching is off, because the caller awaits it before acknowledging the original (by default
 * the client waits up to 10 ms to fill a batch).
 */
export class Publisher {
  private client: Promise<PubSub> | undefined;
  private readonly topics = new Map<string, Topic>();

  constructor(private readonly given?: PubSub) {}

  async publish(topic: string, data: Buffer, attributes: Record<string, string>): Promise<string> {
    return (await this.topic(topic)).publishMessage({ data, attributes });
  }

  private async topic(name: string): Promise<Topic> {
    let topic = this.topics.get(name);
    if (!topic) {
      const client = await (this.client ??= this.createClient());
      topic = client.topic(name, { batching: { maxMessages: 1 } });
      this.topics.set(name, topic);
    }
    return topic;
  }

  private async createClient(): Promise<PubSub> {
    if (this.given) return this.given;
    const { PubSub } = await import('@google-cloud/pubsub');
    return new PubSub();
  }
}
