import type {PubSub} from '@google-cloud/pubsub';
import type {ApplyMode, Change} from './changes';

/**
 * Topics and subscriptions, created or brought up to date, never recreated (recreating a
 * subscription would drop its backlog). Used by `npm start` on the emulator and by the deploy.
 */
export interface SubscriptionSpec {
  readonly name: string;
  readonly topic: string;
  readonly ackDeadlineSeconds: number;
  readonly retryPolicy?: {
    readonly minimumBackoffSeconds: number;
    readonly maximumBackoffSeconds: number;
  };
  readonly deadLetter?: {
    readonly topic: string;
    readonly maxDeliveryAttempts: number;
  };
  /** Absent: a pull subscription. */
  readonly pushEndpoint?: string;
  /** The identity Pub/Sub signs each push with (an OIDC token), for an endpoint that is not public. */
  readonly pushAuth?: PushAuth;
}

export interface PushAuth {
  readonly serviceAccountEmail: string;
  readonly audience: string;
}

export async function ensureTopic(
  pubsub: PubSub,
  name: string,
  mode: ApplyMode,
): Promise<Change> {
  const topic = pubsub.topic(name);
  const [exists] = await topic.exists();
  const change: Change = exists
    ? {action: 'unchanged', resource: `topic ${topic.name}`, call: ''}
    : {
        action: 'create',
        resource: `topic ${topic.name}`,
        call: `pubsub.createTopic(${JSON.stringify(topic.name)})`,
      };
  return apply(change, mode, () => pubsub.createTopic(name));
}

export async function ensureSubscription(
  pubsub: PubSub,
  spec: SubscriptionSpec,
  mode: ApplyMode,
): Promise<Change> {
  const subscription = pubsub.subscription(spec.name);
  const resource = `subscription ${subscription.name}`;
  const desired = comparable(spec, pubsub);
  const [exists] = await subscription.exists();
  if (!exists) {
    const options = metadataOf(spec, pubsub);
    const change: Change = {
      action: 'create',
      resource,
      call: `pubsub.topic(${JSON.stringify(pubsub.topic(spec.topic).name)}).createSubscription(${JSON.stringify(spec.name)}, ${JSON.stringify(options)})`,
    };
    return apply(change, mode, () =>
      pubsub.topic(spec.topic).createSubscription(spec.name, options),
    );
  }
  const [metadata] = await subscription.getMetadata();
  if (metadata.topic !== pubsub.topic(spec.topic).name) {
    throw new Error(
      `${resource} exists on ${metadata.topic}, not ${pubsub.topic(spec.topic).name}: a subscription cannot move; delete it or rename ours`,
    );
  }
  const current = comparable(
    {
      name: spec.name,
      topic: spec.topic,
      ackDeadlineSeconds: Number(metadata.ackDeadlineSeconds ?? 0),
      ...(metadata.retryPolicy
        ? {
            retryPolicy: {
              minimumBackoffSeconds: Number(
                metadata.retryPolicy.minimumBackoff?.seconds ?? 0,
              ),
              maximumBackoffSeconds: Number(
                metadata.retryPolicy.maximumBackoff?.seconds ?? 0,
              ),
            },
          }
        : {}),
      ...(metadata.deadLetterPolicy?.deadLetterTopic
        ? {
            deadLetter: {
              topic: metadata.deadLetterPolicy.deadLetterTopic,
              maxDeliveryAttempts: Number(
                metadata.deadLetterPolicy.maxDeliveryAttempts ?? 0,
              ),
            },
          }
        : {}),
      ...(metadata.pushConfig?.pushEndpoint
        ? {pushEndpoint: metadata.pushConfig.pushEndpoint}
        : {}),
      ...pushAuthOf(metadata.pushConfig),
    },
    pubsub,
  );
  const differing = (Object.keys(desired) as (keyof Comparable)[]).filter(
    key => JSON.stringify(desired[key]) !== JSON.stringify(current[key]),
  );
  if (differing.length === 0) return {action: 'unchanged', resource, call: ''};
  const update = updateOf(spec, pubsub, differing);
  const change: Change = {
    action: 'update',
    resource,
    call: `pubsub.subscription(${JSON.stringify(spec.name)}).setMetadata(${JSON.stringify(update)})`,
  };
  return apply(change, mode, async () => {
    // A push endpoint is changed by its own RPC; the rest by an update with a field mask.
    const {pushConfig, ...fields} = update;
    if (pushConfig) await subscription.modifyPushConfig(pushConfig);
    if (Object.keys(fields).length > 0) await subscription.setMetadata(fields);
  });
}

/** The OIDC identity of an existing push config, in a spec's terms (nothing when it has none). */
export function pushAuthOf(
  pushConfig:
    | {
        oidcToken?: {
          serviceAccountEmail?: string | null;
          audience?: string | null;
        } | null;
      }
    | null
    | undefined,
): {pushAuth?: PushAuth} {
  const email = pushConfig?.oidcToken?.serviceAccountEmail;
  return email
    ? {
        pushAuth: {
          serviceAccountEmail: email,
          audience: pushConfig?.oidcToken?.audience ?? '',
        },
      }
    : {};
}

async function apply(
  change: Change,
  mode: ApplyMode,
  call: () => Promise<unknown>,
): Promise<Change> {
  if (change.action !== 'unchanged' && !mode.dryRun) await call();
  mode.report?.(change);
  return change;
}

interface Comparable {
  ackDeadlineSeconds: number;
  retryPolicy: [number, number] | null;
  deadLetter: [string, number] | null;
  pushEndpoint: string;
  pushAuth: [string, string] | null;
}

function comparable(spec: SubscriptionSpec, pubsub: PubSub): Comparable {
  return {
    ackDeadlineSeconds: spec.ackDeadlineSeconds,
    retryPolicy: spec.retryPolicy
      ? [
          spec.retryPolicy.minimumBackoffSeconds,
          spec.retryPolicy.maximumBackoffSeconds,
        ]
      : null,
    deadLetter: spec.deadLetter
      ? [
          pubsub.topic(spec.deadLetter.topic).name,
          spec.deadLetter.maxDeliveryAttempts,
        ]
      : null,
    pushEndpoint: spec.pushEndpoint ?? '',
    pushAuth: spec.pushAuth
      ? [spec.pushAuth.serviceAccountEmail, spec.pushAuth.audience]
      : null,
  };
}

interface SubscriptionFields {
  ackDeadlineSeconds?: number;
  retryPolicy?: {
    minimumBackoff: {seconds: number};
    maximumBackoff: {seconds: number};
  } | null;
  deadLetterPolicy?: {
    deadLetterTopic: string;
    maxDeliveryAttempts: number;
  } | null;
  pushConfig?: {
    pushEndpoint: string;
    oidcToken?: {serviceAccountEmail: string; audience: string};
  };
}

/** For a new subscription: only what is set (absent means the Pub/Sub default: no retry policy, pull). */
function metadataOf(
  spec: SubscriptionSpec,
  pubsub: PubSub,
): SubscriptionFields {
  const {retryPolicy, deadLetterPolicy, pushConfig, ...rest} = updateOf(
    spec,
    pubsub,
    [
      'ackDeadlineSeconds',
      'retryPolicy',
      'deadLetter',
      'pushEndpoint',
      'pushAuth',
    ],
  );
  return {
    ...rest,
    ...(retryPolicy ? {retryPolicy} : {}),
    ...(deadLetterPolicy ? {deadLetterPolicy} : {}),
    ...(pushConfig?.pushEndpoint ? {pushConfig} : {}),
  };
}

function updateOf(
  spec: SubscriptionSpec,
  pubsub: PubSub,
  fields: (keyof Comparable)[],
): SubscriptionFields {
  const out: SubscriptionFields = {};
  for (const field of fields) {
    switch (field) {
      case 'ackDeadlineSeconds':
        out.ackDeadlineSeconds = spec.ackDeadlineSeconds;
        break;
      case 'retryPolicy':
        out.retryPolicy = spec.retryPolicy
          ? {
              minimumBackoff: {seconds: spec.retryPolicy.minimumBackoffSeconds},
              maximumBackoff: {seconds: spec.retryPolicy.maximumBackoffSeconds},
            }
          : null;
        break;
      case 'deadLetter':
        out.deadLetterPolicy = spec.deadLetter
          ? {
              deadLetterTopic: pubsub.topic(spec.deadLetter.topic).name,
              maxDeliveryAttempts: spec.deadLetter.maxDeliveryAttempts,
            }
          : null;
        break;
      case 'pushEndpoint':
      case 'pushAuth':
        // One push config holds both, and is replaced whole. An empty one turns a push subscription back into a pull one.
        out.pushConfig = {
          pushEndpoint: spec.pushEndpoint ?? '',
          ...(spec.pushAuth && spec.pushEndpoint
            ? {oidcToken: {...spec.pushAuth}}
            : {}),
        };
        break;
    }
  }
  return out;
}
