import {DEAD_LETTER_TOPIC, RETRY_TOPIC} from '../topology';
import {
  DEFAULT_DATABASE,
  type DeployOptions,
  deploysWorker,
  workerAccount,
} from './deploy-options';
import {
  DB_CONNECTION_USER,
  instanceName,
  SECRET_ACCESSOR,
  secretParts,
  type ValkeyTarget,
} from './valkey-instance';

/**
 * Every role the deploy grants, and why; each on the narrowest resource IAM offers for it. The
 * build account has what Google's guide for a custom build account lists, no more; each runtime
 * account has the database role (conditioned on the database when one is named) and only the
 * worker's may publish, to its own two topics.
 */
export interface Grant {
  /** Printed in the plan: who gets what, where. */
  readonly resource: string;
  readonly args: string[];
}

/**
 * What Cloud Build needs to build a function as a custom account ("Use a custom build service
 * account", Cloud Run functions docs): write its logs, push the image, read the uploaded source.
 * Not roles/cloudbuild.builds.builder, which may also write to every bucket of the project.
 */
export const BUILD_ROLES = [
  'roles/logging.logWriter',
  'roles/artifactregistry.writer',
  'roles/storage.objectViewer',
] as const;

/** Before the functions: the build account's roles must be there when the first build starts. */
export function projectGrants(options: DeployOptions): Grant[] {
  const runtimes = [
    options.runtimeServiceAccount,
    ...(deploysWorker(options) ? [workerAccount(options)] : []),
  ];
  return [
    ...BUILD_ROLES.map(role =>
      projectGrant(options, options.buildServiceAccount, role),
    ),
    // STRONG locks read and write lock entities; the example worker its accounts. The role grants
    // the Firestore API as well as the Datastore API, so it serves either STRONG store.
    ...[...new Set(runtimes)].map(email =>
      projectGrant(
        options,
        email,
        'roles/datastore.user',
        databaseCondition(options),
      ),
    ),
  ];
}

/**
 * A named database: the role holds on it alone (an IAM condition on `resource.name`, as Firestore's
 * "IAM conditions" page shows). The default database gets an unconditional binding: the project's
 * other databases are the operator's business, and conditions on `(default)` add nothing.
 */
export function databaseCondition(options: DeployOptions): string | undefined {
  if (options.database === DEFAULT_DATABASE) return undefined;
  return `expression=resource.name=="projects/${options.project}/databases/${options.database}",title=locks database ${options.database}`;
}

/**
 * WEAK locks on Valkey, for each runtime account: with IAM auth, roles/memorystore.dbConnectionUser
 * (memorystore.instances.connect alone) conditioned on the instance, as Memorystore's "Manage IAM
 * authentication" page restricts it; with a URL secret, roles/secretmanager.secretAccessor on that
 * secret only.
 */
export function valkeyGrants(
  options: DeployOptions,
  valkey: ValkeyTarget | undefined,
): Grant[] {
  if (valkey === undefined) return [];
  const runtimes = [
    ...new Set([
      options.runtimeServiceAccount,
      ...(deploysWorker(options) ? [workerAccount(options)] : []),
    ]),
  ];
  const secret = secretParts(options);
  return runtimes.flatMap(email => [
    ...(valkey.iam
      ? [
          {
            ...projectGrant(
              options,
              email,
              DB_CONNECTION_USER,
              `expression=resource.name=="${instanceName(options)}",title=locks valkey ${options.valkeyInstance}`,
            ),
            resource: `${DB_CONNECTION_USER} on project ${options.project} for ${email} (on instance ${options.valkeyInstance} only)`,
          },
        ]
      : []),
    ...(valkey.urlSecret && secret
      ? [
          {
            resource: `${SECRET_ACCESSOR} on secret ${secret.id} for ${email}`,
            args: [
              'secrets',
              'add-iam-policy-binding',
              secret.id,
              `--project=${secret.project}`,
              `--member=serviceAccount:${email}`,
              `--role=${SECRET_ACCESSOR}`,
              '--condition=None',
              '--quiet',
            ],
          },
        ]
      : []),
  ]);
}

/** After the topics exist: lockedHandler in the worker re-queues to the retry topic and dead-letters to its topic; only the worker's account may. */
export function topicGrants(options: DeployOptions): Grant[] {
  if (!deploysWorker(options)) return [];
  return [RETRY_TOPIC, DEAD_LETTER_TOPIC].map(topic => ({
    resource: `roles/pubsub.publisher on topic ${topic} for ${workerAccount(options)}`,
    args: [
      'pubsub',
      'topics',
      'add-iam-policy-binding',
      topic,
      `--project=${options.project}`,
      `--member=serviceAccount:${workerAccount(options)}`,
      '--role=roles/pubsub.publisher',
      '--quiet',
    ],
  }));
}

/**
 * After the functions: run.invoker on one function's Cloud Run service each. The trigger account
 * pushes the worker's Eventarc subscription and its retry subscription, so one grant serves both.
 */
export function invokerGrants(options: DeployOptions): Grant[] {
  return [
    invokerGrant(options, 'cleanupLocks', options.schedulerServiceAccount),
    ...(deploysWorker(options)
      ? [invokerGrant(options, 'exampleWorker', options.triggerServiceAccount)]
      : []),
  ];
}

function projectGrant(
  options: DeployOptions,
  email: string,
  role: string,
  condition?: string,
): Grant {
  return {
    resource: `${role} on project ${options.project} for ${email}${condition ? ` (on database ${options.database} only)` : ''}`,
    // --condition=None: an unconditional binding, and no prompt when the policy already has conditions.
    args: [
      'projects',
      'add-iam-policy-binding',
      options.project,
      `--member=serviceAccount:${email}`,
      `--role=${role}`,
      `--condition=${condition ?? 'None'}`,
      '--quiet',
    ],
  };
}

export function invokerGrant(
  options: DeployOptions,
  functionName: string,
  email: string,
): Grant {
  return {
    resource: `roles/run.invoker on function ${functionName} for ${email}`,
    args: [
      'functions',
      'add-invoker-policy-binding',
      functionName,
      `--project=${options.project}`,
      `--region=${options.region}`,
      `--member=serviceAccount:${email}`,
      '--quiet',
    ],
  };
}
