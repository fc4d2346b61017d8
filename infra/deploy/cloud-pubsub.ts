import type {PubSub} from '@google-cloud/pubsub';
import type {ApplyMode, Change} from '../changes';
import {
  ensureSubscription,
  ensureTopic,
  pushAuthOf,
  type PushAuth,
} from '../pubsub-resources';
import {
  DEAD_LETTER_HOLD_SUBSCRIPTION,
  DEAD_LETTER_TOPIC,
  RETRY_SUBSCRIPTION,
  RETRY_TOPIC,
  topicPath,
  WORK_TOPIC,
  WORKER_DELIVERY,
} from '../topology';

/** Before the functions: the topics, and a subscription that keeps dead letters. */
export async function ensureTopics(
  pubsub: PubSub,
  mode: ApplyMode,
): Promise<Change[]> {
  return [
    await ensureTopic(pubsub, WORK_TOPIC, mode),
    await ensureTopic(pubsub, DEAD_LETTER_TOPIC, mode),
    await ensureTopic(pubsub, RETRY_TOPIC, mode),
    await ensureSubscription(
      pubsub,
      {
        name: DEAD_LETTER_HOLD_SUBSCRIPTION,
        topic: DEAD_LETTER_TOPIC,
        ackDeadlineSeconds: 60,
      },
      mode,
    ),
  ];
}

/**
 * After the functions: `gcloud functions deploy --trigger-topic` has Eventarc create the worker's
 * push subscription on the work topic, with no way to give it a retry or dead-letter policy. That
 * subscription, the one Eventarc names in the trigger's transport (`triggerSubscription`, read by
 * worker-trigger.ts), gets the delivery policy the local stack uses; its push endpoint, identity and
 * ack deadline stay Eventarc's. Any other subscription on the work topic belongs to someone else and
 * is never read or changed. `undefined`: a dry run before the worker's first deploy.
 */
export async function applyWorkerDeliveryPolicy(
  pubsub: PubSub,
  triggerSubscription: string | undefined,
  mode: ApplyMode,
): Promise<Change> {
  if (triggerSubscription === undefined) {
    if (!mode.dryRun)
      throw new Error(
        `the exampleWorker deploy left no Eventarc trigger subscription on ${pubsub.topic(WORK_TOPIC).name}`,
      );
    const change: Change = {
      action: 'update',
      resource: `the exampleWorker trigger's subscription on ${pubsub.topic(WORK_TOPIC).name}`,
      call: `setMetadata(${JSON.stringify(policy())}) once gcloud has created it (read from the trigger's transport.pubsub.subscription)`,
    };
    mode.report?.(change);
    return change;
  }
  const [metadata] = await pubsub
    .subscription(triggerSubscription)
    .getMetadata();
  return ensureSubscription(
    pubsub,
    {
      name: triggerSubscription,
      topic: WORK_TOPIC,
      ackDeadlineSeconds: Number(
        metadata.ackDeadlineSeconds ?? WORKER_DELIVERY.ackDeadlineSeconds,
      ),
      ...policy(),
      ...(metadata.pushConfig?.pushEndpoint
        ? {pushEndpoint: metadata.pushConfig.pushEndpoint}
        : {}),
      // Eventarc pushes with an OIDC identity; replacing the push config without it would break the trigger.
      ...pushAuthOf(metadata.pushConfig),
    },
    mode,
  );
}

/**
 * After the functions: the retry topic's push subscription to the worker, which only the worker's
 * re-queues reach. Unlike the trigger's, it is ours, so it is created with the delivery policy.
 * The worker is private: each push carries an OIDC token for `pushAuth` (the trigger's account, so
 * the worker's one invoker grant serves both).
 * The path names the retry topic: the Functions Framework reads a plain push's topic from it.
 */
export async function ensureRetrySubscription(
  pubsub: PubSub,
  project: string,
  workerUrl: string,
  pushAuth: PushAuth,
  mode: ApplyMode,
): Promise<Change> {
  return ensureSubscription(
    pubsub,
    {
      name: RETRY_SUBSCRIPTION,
      topic: RETRY_TOPIC,
      ackDeadlineSeconds: WORKER_DELIVERY.ackDeadlineSeconds,
      ...policy(),
      pushEndpoint: `${workerUrl}/${topicPath(project, RETRY_TOPIC)}`,
      pushAuth,
    },
    mode,
  );
}

function policy() {
  return {
    retryPolicy: {
      minimumBackoffSeconds: WORKER_DELIVERY.minimumBackoffSeconds,
      maximumBackoffSeconds: WORKER_DELIVERY.maximumBackoffSeconds,
    },
    deadLetter: {
      topic: DEAD_LETTER_TOPIC,
      maxDeliveryAttempts: WORKER_DELIVERY.maxDeliveryAttempts,
    },
  };
}
