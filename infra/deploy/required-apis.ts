import {type DeployOptions, deploysWorker} from './deploy-options';

/**
 * The services a deploy calls, each for a reason; with `--quiet` gcloud turns a disabled one into a
 * warning and a failure half-way, so the preflight checks them all first.
 */
export const REQUIRED_APIS: Readonly<Record<string, string>> = Object.freeze({
  'cloudfunctions.googleapis.com': 'Cloud Functions: the functions',
  'run.googleapis.com':
    'Cloud Run: gen 2 functions run as Cloud Run services (invoker grants)',
  'cloudbuild.googleapis.com': 'Cloud Build: builds each function',
  'artifactregistry.googleapis.com':
    'Artifact Registry: holds the built images',
  'eventarc.googleapis.com': "Eventarc: the worker's Pub/Sub trigger",
  'pubsub.googleapis.com': 'Pub/Sub: the work, retry and dead-letter topics',
  'cloudscheduler.googleapis.com': 'Cloud Scheduler: the cleanup job',
  'datastore.googleapis.com': 'Datastore: what STRONG locks call at run time',
  'firestore.googleapis.com':
    'Firestore: creates and describes the database; with --strong-store firestore, what STRONG locks call at run time',
  'iam.googleapis.com': 'IAM: creates and describes the service accounts',
});

/** Only a deploy through a connector calls the Serverless VPC Access API. */
export const VPC_ACCESS_API = 'vpcaccess.googleapis.com';

/** Only a deploy on a Memorystore for Valkey instance reads it (and grants on it). */
export const MEMORYSTORE_API = 'memorystore.googleapis.com';

/** Only a deploy with --valkey-url-secret reads the secret, grants on it, and the functions read it. */
export const SECRET_MANAGER_API = 'secretmanager.googleapis.com';

/** Locks on Firestore native mode call only the Firestore API: the Datastore API is not needed then. */
export const DATASTORE_API = 'datastore.googleapis.com';

/** Only the example worker's trigger calls Eventarc. */
export const EVENTARC_API = 'eventarc.googleapis.com';

/** The APIs only some options call, and why. */
export const OPTIONAL_APIS: Readonly<Record<string, string>> = Object.freeze({
  [VPC_ACCESS_API]: 'Serverless VPC Access: the --vpc-connector',
  [MEMORYSTORE_API]: 'Memorystore: reads the --valkey-instance',
  [SECRET_MANAGER_API]:
    'Secret Manager: the --valkey-url-secret the functions read',
});

export function requiredApis(options: DeployOptions): string[] {
  const apis = Object.keys(REQUIRED_APIS).filter(
    api =>
      (api !== DATASTORE_API || options.strongStore === 'datastore') &&
      (api !== EVENTARC_API || deploysWorker(options)),
  );
  return [
    ...apis,
    ...(options.vpcConnector ? [VPC_ACCESS_API] : []),
    ...(options.valkeyInstance ? [MEMORYSTORE_API] : []),
    ...(options.valkeyUrlSecret ? [SECRET_MANAGER_API] : []),
  ];
}

export function enabledApisCommand(options: DeployOptions): string[] {
  return [
    'services',
    'list',
    '--enabled',
    `--project=${options.project}`,
    '--format=value(config.name)',
  ];
}

export function enableApisCommand(
  options: DeployOptions,
  apis: readonly string[],
): string[] {
  return [
    'services',
    'enable',
    ...apis,
    `--project=${options.project}`,
    '--quiet',
  ];
}
