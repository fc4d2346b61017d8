import {FUNCTIONS, WORK_TOPIC} from '../topology';
import type {DeployOptions} from './deploy-options';
import {readFailed, saysNotFound, type GcloudRunner} from './gcloud-runner';

/** The one function with a Pub/Sub trigger: its trigger's subscription is the only one the deploy changes on the work topic. */
export const WORKER = (
  FUNCTIONS.find(
    spec => spec.trigger.kind === 'topic' && spec.trigger.topic === WORK_TOPIC,
  ) ?? {name: 'exampleWorker'}
).name;

/** The function's `eventTrigger.trigger`: the Eventarc trigger's resource name (output only). */
export function workerTriggerCommand(options: DeployOptions): string[] {
  return [
    'functions',
    'describe',
    WORKER,
    `--region=${options.region}`,
    `--project=${options.project}`,
    '--format=value(eventTrigger.trigger)',
  ];
}

/** The trigger's `transport.pubsub.subscription`: the subscription Eventarc created and manages for it. */
export function triggerSubscriptionCommand(
  options: DeployOptions,
  trigger: string,
): string[] {
  const match = /^projects\/[^/]+\/locations\/([^/]+)\/triggers\/([^/]+)$/.exec(
    trigger,
  );
  if (!match)
    throw new Error(
      `${WORKER}'s eventTrigger.trigger ${JSON.stringify(trigger)} is not an Eventarc trigger name`,
    );
  return [
    'eventarc',
    'triggers',
    'describe',
    match[2] as string,
    `--location=${match[1]}`,
    `--project=${options.project}`,
    '--format=value(transport.pubsub.subscription)',
  ];
}

/**
 * The worker trigger's subscription id, or `undefined` before the worker's first deploy. Read from
 * Eventarc, never guessed from the topic: other teams' subscriptions on the work topic are theirs.
 */
export async function readTriggerSubscription(
  gcloud: GcloudRunner,
  options: DeployOptions,
): Promise<string | undefined> {
  const describeFunction = workerTriggerCommand(options);
  const fn = await gcloud(describeFunction);
  if (saysNotFound(fn)) return undefined;
  if (fn.code !== 0)
    throw readFailed(`function ${WORKER}`, describeFunction, fn);
  const trigger = fn.stdout.trim();
  if (!trigger)
    throw new Error(
      `function ${WORKER} exists without an Eventarc trigger: delete it (gcloud functions delete ${WORKER} --region=${options.region}) and deploy again`,
    );
  const describeTrigger = triggerSubscriptionCommand(options, trigger);
  const transport = await gcloud(describeTrigger);
  if (transport.code !== 0)
    throw readFailed(`Eventarc trigger ${trigger}`, describeTrigger, transport);
  const subscription = /^projects\/([^/]+)\/subscriptions\/([^/\s]+)$/.exec(
    transport.stdout.trim(),
  );
  if (!subscription)
    throw new Error(
      `Eventarc trigger ${trigger} names no Pub/Sub subscription in its transport: ${JSON.stringify(transport.stdout.trim())}`,
    );
  if (subscription[1] !== options.project)
    throw new Error(
      `Eventarc trigger ${trigger}'s subscription is in project ${subscription[1]}, not ${options.project}`,
    );
  return subscription[2];
}
