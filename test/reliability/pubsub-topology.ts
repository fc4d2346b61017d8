import type {PubSub} from '@google-cloud/pubsub';

/** What a Pub/Sub emulator holds that a test made: it keeps nothing across a restart. */
export interface PubSubTopology {
  readonly topics: readonly string[];
  readonly subscriptions: readonly {
    readonly name: string;
    readonly topic: string;
    readonly metadata: Record<string, unknown>;
  }[];
}

const shortName = (name: string) => name.split('/').pop() as string;

/** Every topic and subscription (push endpoint, ack deadline, retry policy), as they are now. */
export async function snapshotTopology(
  pubsub: PubSub,
): Promise<PubSubTopology> {
  const [topics] = await pubsub.getTopics();
  const [subscriptions] = await pubsub.getSubscriptions();
  return {
    topics: topics.map(topic => shortName(topic.name)),
    subscriptions: await Promise.all(
      subscriptions.map(async subscription => {
        const [metadata] = await subscription.getMetadata();
        return {
          name: shortName(subscription.name),
          topic: shortName(String(metadata.topic)),
          metadata: {
            ackDeadlineSeconds: metadata.ackDeadlineSeconds,
            ...(metadata.pushConfig?.pushEndpoint
              ? {pushConfig: {pushEndpoint: metadata.pushConfig.pushEndpoint}}
              : {}),
            ...(metadata.retryPolicy
              ? {retryPolicy: metadata.retryPolicy}
              : {}),
          },
        };
      }),
    ),
  };
}

/** Creates them again on an emptied (restarted) emulator. */
export async function restoreTopology(
  pubsub: PubSub,
  topology: PubSubTopology,
): Promise<void> {
  await Promise.all(topology.topics.map(topic => pubsub.createTopic(topic)));
  await Promise.all(
    topology.subscriptions.map(({name, topic, metadata}) =>
      pubsub.topic(topic).createSubscription(name, metadata),
    ),
  );
}
