import type {StrongStore} from '../../shared';
import {FUNCTION_TIMEOUT_MS} from '../../shared/internal';
import {topicPath, DEAD_LETTER_TOPIC, type FunctionSpec} from '../topology';
import {
  DEFAULT_DATABASE,
  type DeployOptions,
  workerAccount,
} from './deploy-options';
import {invokerGrants} from './iam-grants';
import {deployedFunctions, locksPageEnvironment} from './locks-page-deploy';
import {VALKEY_URL_VARIABLE, type ValkeyTarget} from './valkey-instance';

/**
 * The `gcloud` command lines of a deploy (arguments after `gcloud`). `gcloud functions deploy`
 * creates or updates, so running them again is harmless.
 */

/** Read by gcloud instead of a .gcloudignore (whose default pulls in .gitignore, which drops dist/). Written after the build, which empties dist/. */
export const IGNORE_FILE = 'dist/.deployignore';

/** The variable the functions read the Datastore-mode database from (functions/settings.ts); unset means the default database. */
export const DATABASE_VARIABLE = 'LOCKS_DATASTORE_DATABASE';
/** The native-mode database's variable, read with LOCKS_STRONG_STORE=firestore. */
export const FIRESTORE_DATABASE_VARIABLE = 'LOCKS_FIRESTORE_DATABASE';
export const STRONG_STORE_VARIABLE = 'LOCKS_STRONG_STORE';

/** Each store's database variable. The functions refuse the other store's at cold start, so the deploy removes it. */
const DATABASE_VARIABLES: Readonly<Record<StrongStore, string>> = {
  datastore: DATABASE_VARIABLE,
  firestore: FIRESTORE_DATABASE_VARIABLE,
};
/** The variables that choose the STRONG store and its database: whichever the deploy does not set, it removes. */
const STORE_VARIABLES = [
  STRONG_STORE_VARIABLE,
  DATABASE_VARIABLE,
  FIRESTORE_DATABASE_VARIABLE,
];

/** memjs's variable, which WEAK locks' default client reads (default localhost:11211, where nothing listens in the cloud). */
export const MEMCACHE_VARIABLE = 'MEMCACHE_SERVERS';

/** Direct VPC egress's flags, which gcloud 528 does not know: the offline check exempts exactly these. */
export const DIRECT_VPC_FLAGS = ['--network', '--subnet'] as const;

/**
 * `runtime` is firebase.json's `functions.runtime` (nodejs24): one place names the deployed Node.js.
 * `keepTrigger`: the worker's trigger as deployed already matches (worker-trigger.ts read it), so
 * the trigger flags are left out and gcloud leaves the trigger alone instead of resending it.
 * `valkey`: WEAK locks' Valkey settings, as the preflight derived them (valkey-instance.ts).
 */
export function functionDeployCommand(
  spec: FunctionSpec,
  options: DeployOptions,
  runtime: string,
  keepTrigger = false,
  valkey?: ValkeyTarget,
): string[] {
  const common = [
    'functions',
    'deploy',
    spec.name,
    '--gen2',
    `--project=${options.project}`,
    `--region=${options.region}`,
    `--runtime=${runtime}`,
    '--source=.',
    `--entry-point=${spec.name}`,
    `--ignore-file=${IGNORE_FILE}`,
    // dist/ is built here (firebase.json predeploy) and uploaded; Cloud Build must not run our
    // build script, whose compiler is a devDependency it does not install.
    '--set-build-env-vars=GOOGLE_NODE_RUN_SCRIPTS=',
    // Below LOCKS_HTTP_MAX_WAIT_MS's 30 s default plus a store call: no request outlives its function.
    // lockedHandler stops renewing its lease at the same deadline.
    `--timeout=${FUNCTION_TIMEOUT_MS / 1000}s`,
    // Its own identities, never the default compute or Cloud Build accounts (see service-accounts.ts).
    `--service-account=${runtimeAccountOf(spec, options)}`,
    `--build-service-account=projects/${options.project}/serviceAccounts/${options.buildServiceAccount}`,
    ...environmentFlags(functionEnvironment(spec, options, valkey), valkey),
    // The URL carries a password: the function reads it from Secret Manager at start, never from its configuration.
    ...(valkey?.urlSecret
      ? [`--update-secrets=${VALKEY_URL_VARIABLE}=${valkey.urlSecret}`]
      : []),
    // A memcached or Valkey on a private network (Memorystore, or one on Compute Engine) is reached through a connector.
    ...(options.vpcConnector
      ? [`--vpc-connector=${options.vpcConnector}`]
      : []),
    ...(options.vpcEgress ? [`--egress-settings=${options.vpcEgress}`] : []),
    // Direct VPC egress: no connector to run or pay for; Cloud Run's default sends private ranges only through it.
    ...(options.network ? [`${DIRECT_VPC_FLAGS[0]}=${options.network}`] : []),
    ...(options.subnet ? [`${DIRECT_VPC_FLAGS[1]}=${options.subnet}`] : []),
    '--quiet',
  ];
  if (spec.trigger.kind === 'http')
    return [...common, '--trigger-http', '--no-allow-unauthenticated'];
  if (keepTrigger) return common;
  return [
    ...common,
    `--trigger-topic=${spec.trigger.topic}`,
    // Eventarc pushes as this account, which may invoke the worker and nothing else.
    `--trigger-service-account=${options.triggerServiceAccount}`,
    // A thrown invocation (lockedHandler's EarlyDeliveryError, a failed re-queue) must come back.
    '--retry',
  ];
}

/** The worker runs as its own account, the only one that may publish to its topics. */
export function runtimeAccountOf(
  spec: FunctionSpec,
  options: DeployOptions,
): string {
  return spec.trigger.kind === 'topic'
    ? workerAccount(options)
    : options.runtimeServiceAccount;
}

/** The variables the deploy owns on a function; the others (LOCKS_* tuning set by an operator) are left alone. */
export function functionEnvironment(
  spec: FunctionSpec,
  options: DeployOptions,
  valkey?: ValkeyTarget,
): Record<string, string> {
  return {
    ...(spec.trigger.kind === 'topic'
      ? {
          EXAMPLE_DEAD_LETTER_TOPIC: topicPath(
            options.project,
            DEAD_LETTER_TOPIC,
          ),
        }
      : {}),
    // Unset means datastore, as it did before the variable existed.
    ...(options.strongStore === 'firestore'
      ? {[STRONG_STORE_VARIABLE]: options.strongStore}
      : {}),
    ...(options.database !== DEFAULT_DATABASE
      ? {[DATABASE_VARIABLES[options.strongStore]]: options.database}
      : {}),
    // Without the option the variable is left as it is: a value an operator set survives.
    ...(options.memcacheServers
      ? {[MEMCACHE_VARIABLE]: options.memcacheServers}
      : {}),
    // Every function, as MEMCACHE_SERVERS: any of them may take a WEAK lock.
    ...valkey?.env,
    ...locksPageEnvironment(spec),
  };
}

/**
 * `--update-env-vars` rather than `--set-env-vars`, which would wipe every variable it does not
 * name. The store's variables it does not set are removed: the database variable for the default
 * database, so switching back to it works; LOCKS_STRONG_STORE for datastore and the other store's
 * database variable always, so switching stores works.
 * (gcloud takes one of --set-env-vars or --update-env-vars/--remove-env-vars, never both.)
 */
function environmentFlags(
  environment: Record<string, string>,
  valkey: ValkeyTarget | undefined,
): string[] {
  const pairs = Object.entries(environment).map(
    ([name, value]) => `${name}=${value}`,
  );
  // gcloud splits the list on commas; a value with one (several memcached servers) needs another
  // delimiter (`gcloud topic escaping`). A key ends at its first `=`, so a CA's base64 padding is safe.
  const list = pairs.some(pair => pair.includes(','))
    ? `^;^${pairs.join(';')}`
    : pairs.join(',');
  // With a Valkey option, the Valkey variables it does not set go too (a CA after TLS was turned
  // off; the plain URL once it comes from a secret); without one, they are left as they are.
  const remove = [
    ...STORE_VARIABLES.filter(name => !(name in environment)),
    ...(valkey?.remove ?? []),
    ...(valkey?.urlSecret ? [VALKEY_URL_VARIABLE] : []),
  ];
  return [
    ...(pairs.length > 0 ? [`--update-env-vars=${list}`] : []),
    ...(remove.length > 0 ? [`--remove-env-vars=${remove.join(',')}`] : []),
  ];
}

export function deployCommands(
  options: DeployOptions,
  runtime: string,
): string[][] {
  return [
    ...deployedFunctions(options).map(spec =>
      functionDeployCommand(spec, options, runtime),
    ),
    ...invokerGrants(options).map(grant => grant.args),
  ];
}

/** The database's type and location (a read, so a dry run makes it too); gcloud fails with NOT_FOUND when it is missing. */
export function databaseDescribeCommand(options: DeployOptions): string[] {
  return [
    'firestore',
    'databases',
    'describe',
    `--database=${options.database}`,
    `--project=${options.project}`,
    '--format=value(type,locationId)',
  ];
}

/** A database in the mode of the STRONG store: the Datastore API cannot use a native-mode one, nor the Firestore API a Datastore-mode one. */
export function databaseCreateCommand(options: DeployOptions): string[] {
  return [
    'firestore',
    'databases',
    'create',
    `--database=${options.database}`,
    `--location=${options.databaseLocation ?? options.region}`,
    `--type=${options.strongStore === 'firestore' ? 'firestore-native' : 'datastore-mode'}`,
    `--project=${options.project}`,
    '--quiet',
  ];
}

/** Gen 2 functions keep the cloudfunctions.net URL of gen 1, so it is known before the first deploy. */
export function functionUrl(options: DeployOptions, name: string): string {
  return `https://${options.region}-${options.project}.cloudfunctions.net/${name}`;
}

/**
 * Dead-lettering is done by Pub/Sub's service agent, which must be allowed to publish to the
 * dead-letter topic and to acknowledge on the subscription it forwards from; without these grants
 * Pub/Sub keeps redelivering and never dead-letters.
 */
export function deadLetterGrantCommands(
  options: DeployOptions,
  projectNumber: string,
  subscriptions: readonly string[],
): string[][] {
  const member = `--member=serviceAccount:service-${projectNumber}@gcp-sa-pubsub.iam.gserviceaccount.com`;
  return [
    [
      'pubsub',
      'topics',
      'add-iam-policy-binding',
      DEAD_LETTER_TOPIC,
      `--project=${options.project}`,
      member,
      '--role=roles/pubsub.publisher',
      '--quiet',
    ],
    ...subscriptions.map(subscription => [
      'pubsub',
      'subscriptions',
      'add-iam-policy-binding',
      subscription,
      `--project=${options.project}`,
      member,
      '--role=roles/pubsub.subscriber',
      '--quiet',
    ]),
  ];
}

/** Reads the project number, for the Pub/Sub service agent's name (a read, so a dry run makes it too). */
export function projectNumberCommand(options: DeployOptions): string[] {
  return [
    'projects',
    'describe',
    options.project,
    '--format=value(projectNumber)',
  ];
}
