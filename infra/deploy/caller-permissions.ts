import {type DeployOptions, deploysWorker} from './deploy-options';
import type {GcloudRunner} from './gcloud-runner';

/**
 * What the person (or CI account) running the deploy must be allowed to do, by the predefined role
 * that grants it. roles/owner holds all of them. Tested as permissions rather than read from the
 * policy, so roles held through a group, a folder or a custom role count too.
 */
const NEEDED: readonly (readonly [
  role: string,
  permissions: readonly string[],
])[] = [
  ['roles/serviceusage.serviceUsageViewer', ['serviceusage.services.list']],
  [
    'roles/iam.serviceAccountAdmin',
    ['iam.serviceAccounts.get', 'iam.serviceAccounts.create'],
  ],
  [
    'roles/resourcemanager.projectIamAdmin',
    [
      'resourcemanager.projects.getIamPolicy',
      'resourcemanager.projects.setIamPolicy',
    ],
  ],
  ['roles/browser', ['resourcemanager.projects.get']],
  [
    'roles/datastore.owner',
    ['datastore.databases.getMetadata', 'datastore.databases.create'],
  ],
  [
    'roles/cloudfunctions.developer',
    [
      'cloudfunctions.functions.get',
      'cloudfunctions.functions.create',
      'cloudfunctions.functions.update',
      // The upload of the source: gcloud asks for a signed upload URL.
      'cloudfunctions.functions.sourceCodeSet',
    ],
  ],
  // Gen 2's add-invoker-policy-binding sets the policy of the function's Cloud Run service.
  [
    'roles/run.admin',
    ['run.services.getIamPolicy', 'run.services.setIamPolicy'],
  ],
  ['roles/eventarc.viewer', ['eventarc.triggers.get']],
  [
    'roles/pubsub.admin',
    [
      'pubsub.topics.get',
      'pubsub.topics.create',
      'pubsub.topics.getIamPolicy',
      'pubsub.topics.setIamPolicy',
      // Creating a subscription on a topic.
      'pubsub.topics.attachSubscription',
      'pubsub.subscriptions.get',
      'pubsub.subscriptions.create',
      'pubsub.subscriptions.update',
      'pubsub.subscriptions.getIamPolicy',
      'pubsub.subscriptions.setIamPolicy',
    ],
  ],
  [
    'roles/cloudscheduler.admin',
    [
      'cloudscheduler.jobs.get',
      'cloudscheduler.jobs.create',
      'cloudscheduler.jobs.update',
    ],
  ],
];
const ENABLE_APIS: readonly [string, readonly string[]] = [
  'roles/serviceusage.serviceUsageAdmin',
  ['serviceusage.services.enable'],
];
const USE_CONNECTOR: readonly [string, readonly string[]] = [
  'roles/vpcaccess.user',
  ['vpcaccess.connectors.use'],
];
/** Reading the Valkey instance and its server CA. */
const READ_VALKEY: readonly [string, readonly string[]] = [
  'roles/memorystore.viewer',
  ['memorystore.instances.get'],
];
/** Reading the URL's secret and granting the runtime accounts access to it. */
const GRANT_SECRET: readonly [string, readonly string[]] = [
  'roles/secretmanager.admin',
  [
    'secretmanager.secrets.get',
    'secretmanager.secrets.getIamPolicy',
    'secretmanager.secrets.setIamPolicy',
  ],
];
/** `gcloud beta services identity create` (the worker's Eventarc and Pub/Sub agents). */
const CREATE_IDENTITIES: readonly [string, readonly string[]] = [
  'roles/serviceusage.serviceUsageConsumer',
  ['serviceusage.services.use'],
];

/**
 * Deploying a function that runs, builds or is triggered as an account, and a Scheduler job or a
 * push subscription signing as one, is acting as it. Tested on each account that exists (a grant on
 * the account counts); for an account the deploy creates, on the project it inherits from.
 */
export const ACT_AS = 'iam.serviceAccounts.actAs';
export const ACT_AS_ROLE = 'roles/iam.serviceAccountUser';

export function neededRoles(
  options: DeployOptions,
): (readonly [string, readonly string[]])[] {
  return [
    ...NEEDED,
    ...(options.enableApis ? [ENABLE_APIS] : []),
    ...(options.vpcConnector ? [USE_CONNECTOR] : []),
    ...(options.valkeyInstance ? [READ_VALKEY] : []),
    ...(options.valkeyUrlSecret ? [GRANT_SECRET] : []),
    ...(deploysWorker(options) ? [CREATE_IDENTITIES] : []),
  ];
}

/** testIamPermissions on one service account (IAM API): the subset of `permissions` the caller holds on it. */
export type AccountPermissionsCheck = (
  email: string,
  permissions: readonly string[],
) => Promise<readonly string[]>;

/** The line for an account the caller may not act as. */
export function actAsProblem(
  options: DeployOptions,
  email: string,
  onProject: boolean,
): string {
  return onProject
    ? `you lack ${ACT_AS} on project ${options.project}, which ${email} (created by the deploy) inherits: have a project owner run \`gcloud projects add-iam-policy-binding ${options.project} --member=user:YOUR_EMAIL --role=${ACT_AS_ROLE}\``
    : `you lack ${ACT_AS} on ${email}: have its owner run \`gcloud iam service-accounts add-iam-policy-binding ${email} --member=user:YOUR_EMAIL --role=${ACT_AS_ROLE}\` (or grant ${ACT_AS_ROLE} on the project)`;
}

/** Resource Manager's testIamPermissions on the project: the subset of `permissions` the caller holds. A stub in tests. */
export type PermissionsCheck = (
  project: string,
  permissions: readonly string[],
) => Promise<readonly string[]>;

/** One line per role whose permissions the caller lacks, naming the grant that fixes it. */
export function missingRoles(
  options: DeployOptions,
  granted: readonly string[],
): string[] {
  const held = new Set(granted);
  return neededRoles(options).flatMap(([role, permissions]) => {
    const missing = permissions.filter(permission => !held.has(permission));
    if (missing.length === 0) return [];
    return [
      `you lack ${missing.join(', ')}: have a project owner run \`gcloud projects add-iam-policy-binding ${options.project} --member=user:YOUR_EMAIL --role=${role}\` (roles/owner holds it too)`,
    ];
  });
}

/**
 * The real check, as the account gcloud runs as (the one that runs the deploy's gcloud lines).
 * `endpoint` is there for a test's local server.
 */
export function resourceManagerPermissions(
  gcloud: GcloudRunner,
  endpoint = 'https://cloudresourcemanager.googleapis.com',
): PermissionsCheck {
  return (project, permissions) =>
    testPermissions(
      gcloud,
      `${endpoint}/v1/projects/${encodeURIComponent(project)}:testIamPermissions`,
      `project ${project}`,
      permissions,
    );
}

/** The same test on a service account (IAM's testIamPermissions on `projects/-/serviceAccounts/EMAIL`). */
export function serviceAccountPermissions(
  gcloud: GcloudRunner,
  endpoint = 'https://iam.googleapis.com',
): AccountPermissionsCheck {
  return (email, permissions) =>
    testPermissions(
      gcloud,
      `${endpoint}/v1/projects/-/serviceAccounts/${encodeURIComponent(email)}:testIamPermissions`,
      `service account ${email}`,
      permissions,
    );
}

async function testPermissions(
  gcloud: GcloudRunner,
  url: string,
  what: string,
  permissions: readonly string[],
): Promise<readonly string[]> {
  const token = await gcloud(['auth', 'print-access-token']);
  if (token.code !== 0)
    throw new Error(
      `could not get gcloud's access token (run \`gcloud auth login\`): ${token.stderr.trim()}`,
    );
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token.stdout.trim()}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({permissions}),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json().catch(() => ({}))) as {
    permissions?: string[];
    error?: {message?: string};
  };
  if (!response.ok)
    throw new Error(
      `could not test your permissions on ${what} (HTTP ${response.status}): ${body.error?.message ?? 'no message'}`,
    );
  return body.permissions ?? [];
}
