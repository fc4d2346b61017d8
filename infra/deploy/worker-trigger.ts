import {FUNCTIONS, topicPath, WORK_TOPIC} from '../topology';
import type {DeployOptions} from './deploy-options';
import {readFailed, saysNotFound, type GcloudRunner} from './gcloud-runner';

/** The one function with a Pub/Sub trigger: its trigger's subscription is the only one the deploy changes on the work topic. */
export const WORKER = (
  FUNCTIONS.find(
    spec => spec.trigger.kind === 'topic' && spec.trigger.topic === WORK_TOPIC,
  ) ?? {name: 'exampleWorker'}
).name;

/** The function's `eventTrigger`: the Eventarc trigger's name (output only) and what the deploy sets on it. */
export function workerTriggerCommand(options: DeployOptions): string[] {
  return [
    'functions',
    'describe',
    WORKER,
    `--region=${options.region}`,
    `--project=${options.project}`,
    '--format=json(eventTrigger)',
  ];
}

/** The fields of a v2 function's `eventTrigger` the deploy reads. */
export interface DeployedTrigger {
  readonly trigger: string;
  readonly eventType?: string;
  readonly pubsubTopic?: string;
  readonly serviceAccountEmail?: string;
  readonly retryPolicy?: string;
}

/** What `--trigger-topic --trigger-service-account --retry` makes, in `eventTrigger`'s terms. */
export const PUBLISHED_EVENT = 'google.cloud.pubsub.topic.v1.messagePublished';
const RETRY = 'RETRY_POLICY_RETRY';

/**
 * True when the worker's trigger is already what the deploy's trigger flags would make: then the
 * redeploy leaves them out, and gcloud keeps the trigger (and its subscription's backlog) rather
 * than resending it (google-github-actions/deploy-cloud-functions#419 saw a resent trigger
 * recreated and its messages lost).
 */
export function triggerMatches(
  deployed: DeployedTrigger,
  options: DeployOptions,
): boolean {
  return (
    deployed.eventType === PUBLISHED_EVENT &&
    deployed.pubsubTopic === topicPath(options.project, WORK_TOPIC) &&
    deployed.serviceAccountEmail === options.triggerServiceAccount &&
    deployed.retryPolicy === RETRY
  );
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
  return (await readWorkerTrigger(gcloud, options))?.subscription;
}

/** The worker's trigger as deployed, and its subscription; `undefined` before the worker's first deploy. */
export async function readWorkerTrigger(
  gcloud: GcloudRunner,
  options: DeployOptions,
): Promise<
  | {readonly deployed: DeployedTrigger; readonly subscription: string}
  | undefined
> {
  const describeFunction = workerTriggerCommand(options);
  const fn = await gcloud(describeFunction);
  if (saysNotFound(fn)) return undefined;
  if (fn.code !== 0)
    throw readFailed(`function ${WORKER}`, describeFunction, fn);
  const deployed = eventTriggerOf(fn.stdout);
  const trigger = deployed?.trigger ?? '';
  if (!deployed || !trigger)
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
  return {deployed, subscription: subscription[2] as string};
}

/** `--format=json(eventTrigger)` output; `undefined` when there is none (an HTTP function of that name). */
function eventTriggerOf(stdout: string): DeployedTrigger | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout.trim() || '{}');
  } catch {
    throw new Error(
      `function ${WORKER}: gcloud's description is not JSON: ${JSON.stringify(stdout.slice(0, 200))}`,
    );
  }
  const trigger = (parsed as {eventTrigger?: unknown} | null)?.eventTrigger;
  if (!trigger || typeof trigger !== 'object') return undefined;
  const text = (key: string): string | undefined => {
    const value = (trigger as Record<string, unknown>)[key];
    return typeof value === 'string' ? value : undefined;
  };
  return {
    trigger: text('trigger') ?? '',
    ...optional('eventType', text('eventType')),
    ...optional('pubsubTopic', text('pubsubTopic')),
    ...optional('serviceAccountEmail', text('serviceAccountEmail')),
    ...optional('retryPolicy', text('retryPolicy')),
  };
}

function optional<K extends string>(
  key: K,
  value: string | undefined,
): Partial<Record<K, string>> {
  return value === undefined ? {} : ({[key]: value} as Record<K, string>);
}
