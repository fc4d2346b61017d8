import type {PubSub} from '@google-cloud/pubsub';
import type {Change} from '../changes';
import {ensureTopics} from '../deploy/cloud-pubsub';
import {ensureSubscription} from '../pubsub-resources';
import {
  DEAD_LETTER_TOPIC,
  LOCAL_WORKER_SUBSCRIPTION,
  RETRY_SUBSCRIPTION,
  RETRY_TOPIC,
  WORK_TOPIC,
  WORKER_DELIVERY,
} from '../topology';

/**
 * The deployed topics and subscriptions, on the emulator. Where Eventarc pushes to the deployed
 * worker, a push subscription with the same delivery policy pushes to the local one; the retry
 * topic's push subscription is the deployed one, pointed at the local worker.
 */
export async function createLocalTopology(
  pubsub: PubSub,
  functionsBaseUrl: string,
  project: string,
): Promise<Change[]> {
  const mode = {dryRun: false};
  const changes: Change[] = [];
  // No retry policy here, unlike the deploy: the Pub/Sub emulator (0.8.20) can stop redelivering a
  // push subscription that has one for good, once two deliveries that each failed twice expire
  // together (a NullPointerException in MessageBacklog.nackMessage cancels its delivery task,
  // silently). Without one it pushes a failed message again after about a second, every time.
  const delivery = {
    ackDeadlineSeconds: WORKER_DELIVERY.ackDeadlineSeconds,
    deadLetter: {
      topic: DEAD_LETTER_TOPIC,
      maxDeliveryAttempts: WORKER_DELIVERY.maxDeliveryAttempts,
    },
  };
  // The deploy's own topics and dead-letter hold, so the two stacks cannot drift apart.
  changes.push(...(await ensureTopics(pubsub, mode)));
  changes.push(
    await ensureSubscription(
      pubsub,
      {
        name: LOCAL_WORKER_SUBSCRIPTION,
        topic: WORK_TOPIC,
        ...delivery,
        pushEndpoint: workerPushEndpoint(functionsBaseUrl, project),
      },
      mode,
    ),
  );
  changes.push(
    await ensureSubscription(
      pubsub,
      {
        name: RETRY_SUBSCRIPTION,
        topic: RETRY_TOPIC,
        ...delivery,
        pushEndpoint: workerPushEndpoint(
          functionsBaseUrl,
          project,
          RETRY_TOPIC,
        ),
      },
      mode,
    ),
  );
  return changes;
}

/** The Functions Framework takes a push's topic from the request path. */
export function workerPushEndpoint(
  functionsBaseUrl: string,
  project: string,
  topic = WORK_TOPIC,
): string {
  return `${functionsBaseUrl}/exampleWorker/projects/${project}/topics/${topic}`;
}
