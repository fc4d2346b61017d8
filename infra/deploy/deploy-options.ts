import {
  DATABASE_ID,
  isStrongStore,
  STRONG_STORES,
  type StrongStore,
} from '../../shared/config';

/** `npm run deploy -- --project P --region R [--dry-run] [...]`, parsed and checked before any call is made. */
export interface DeployOptions {
  readonly project: string;
  readonly region: string;
  readonly dryRun: boolean;
  /** Enable the APIs the deploy needs when some are off; without it the preflight stops and names them. */
  readonly enableApis: boolean;
  /** Cloud Scheduler calls cleanupLocks with an OIDC token for this account; it gets the invoker role on it. */
  readonly schedulerServiceAccount: string;
  /** The functions' runtime identity: datastore.user on the project, pubsub.publisher on the retry and dead-letter topics. */
  readonly runtimeServiceAccount: string;
  /** Cloud Build runs the functions' builds as this account (roles/cloudbuild.builds.builder). */
  readonly buildServiceAccount: string;
  /** The worker's Eventarc trigger and its retry subscription push as this account (run.invoker on the worker only). */
  readonly triggerServiceAccount: string;
  /** firebase.json to read the functions source from. Default: the repository's. */
  readonly config: string | undefined;
  /**
   * Where STRONG locks (and the example worker's ledger) live: `datastore`, a Datastore-mode
   * database (LOCKS_DATASTORE_DATABASE), or `firestore`, a native-mode one (LOCKS_FIRESTORE_DATABASE).
   */
  readonly strongStore: StrongStore;
  /** The database of that store, in the store's mode. Default: `(default)`. */
  readonly database: string;
  /** Where to create the database when it is missing. Default: the region. */
  readonly databaseLocation: string | undefined;
  /** WEAK locks' memcached servers (`host:port[,host:port]`), set as MEMCACHE_SERVERS on every function. */
  readonly memcacheServers: string | undefined;
  /** A Serverless VPC Access connector, so the functions reach a memcached on a private network. */
  readonly vpcConnector: string | undefined;
  /** What goes through the connector: `private-ranges-only` (gcloud's default) or `all`. */
  readonly vpcEgress: 'private-ranges-only' | 'all' | undefined;
  /** `--locks-page`: deploy the live locks page too, turned on (absent: the page is neither deployed nor touched). */
  readonly locksPage?: true;
}

/** The project's default database, as gcloud and the Firestore API name it. */
export const DEFAULT_DATABASE = '(default)';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The accounts the deploy creates when they are missing: ACCOUNT_ID@PROJECT.iam.gserviceaccount.com. */
export const DEFAULT_ACCOUNT_IDS = Object.freeze({
  runtime: 'locks-runtime',
  build: 'locks-build',
  trigger: 'locks-trigger',
  scheduler: 'locks-scheduler',
});

export const USAGE =
  'usage: npm run deploy -- --project PROJECT --region REGION [--dry-run] [--enable-apis] ' +
  '[--runtime-service-account EMAIL (default locks-runtime@PROJECT.iam.gserviceaccount.com)] ' +
  '[--build-service-account EMAIL (default locks-build@...)] [--trigger-service-account EMAIL (default locks-trigger@...)] ' +
  '[--scheduler-service-account EMAIL (default locks-scheduler@...)] [--config firebase.json] ' +
  '[--strong-store datastore|firestore (default datastore)] ' +
  '[--database NAME (in that store\'s mode; default: the project\'s "(default)" database)] [--database-location LOCATION (default: the region)] ' +
  '[--memcache-servers HOST:PORT[,HOST:PORT]] [--vpc-connector CONNECTOR] [--vpc-egress private-ranges-only|all] [--locks-page (needs LOCKS_API_TOKEN)]';

const VALUE_FLAGS = [
  '--project',
  '--region',
  '--scheduler-service-account',
  '--runtime-service-account',
  '--build-service-account',
  '--trigger-service-account',
  '--config',
  '--strong-store',
  '--database',
  '--database-location',
  '--memcache-servers',
  '--vpc-connector',
  '--vpc-egress',
] as const;
const SWITCHES = ['--dry-run', '--enable-apis', '--locks-page'] as const;

export function parseDeployArgs(argv: readonly string[]): DeployOptions {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if ((SWITCHES as readonly string[]).includes(arg)) {
      switches.add(arg);
      continue;
    }
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    if (!(VALUE_FLAGS as readonly string[]).includes(flag))
      throw new UsageError(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '' || value.startsWith('--'))
      throw new UsageError(`${flag} needs a value\n${USAGE}`);
    values.set(flag, value);
  }
  const project = values.get('--project');
  const region = values.get('--region');
  if (!project || !region)
    throw new UsageError(`--project and --region are required\n${USAGE}`);
  // The shapes Google Cloud accepts; checked here so a typo fails before the first call, not half-way.
  if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project))
    throw new UsageError(
      `--project ${JSON.stringify(project)} is not a project id`,
    );
  if (!/^[a-z]+-[a-z]+\d+$/.test(region))
    throw new UsageError(
      `--region ${JSON.stringify(region)} is not a region (like europe-west1)`,
    );
  const strongStore = values.get('--strong-store') ?? 'datastore';
  if (!isStrongStore(strongStore)) {
    throw new UsageError(
      `--strong-store ${JSON.stringify(strongStore)} must be one of ${STRONG_STORES.join(', ')}`,
    );
  }
  const database = values.get('--database') ?? DEFAULT_DATABASE;
  // Firestore's rule for database ids: 4 to 63 of a-z, 0-9 and -, from a letter to a letter or digit.
  if (database !== DEFAULT_DATABASE && !DATABASE_ID.test(database)) {
    throw new UsageError(
      `--database ${JSON.stringify(database)} is not a database id (4 to 63 of a-z, 0-9, -; from a letter to a letter or digit)`,
    );
  }
  const databaseLocation = values.get('--database-location');
  // A region (europe-west1) or a multi-region (eur3, nam5).
  if (
    databaseLocation !== undefined &&
    !/^[a-z]+(-[a-z]+)?\d+$/.test(databaseLocation)
  ) {
    throw new UsageError(
      `--database-location ${JSON.stringify(databaseLocation)} is not a location (like europe-west1 or eur3)`,
    );
  }
  const account = (flag: string, id: string): string => {
    const email =
      values.get(flag) ?? `${id}@${project}.iam.gserviceaccount.com`;
    if (!/^[a-z0-9][a-z0-9.-]*@[a-z0-9.-]+\.gserviceaccount\.com$/.test(email))
      throw new UsageError(
        `${flag} ${JSON.stringify(email)} is not a service account email`,
      );
    return email;
  };
  const memcacheServers = values.get('--memcache-servers');
  // memjs's MEMCACHE_SERVERS: host:port, comma-separated (a user:password@ prefix would put a secret in the function's settings; use MEMCACHE_USERNAME/PASSWORD).
  if (
    memcacheServers !== undefined &&
    !memcacheServers
      .split(',')
      .every(server => /^[A-Za-z0-9.-]+:\d{1,5}$/.test(server))
  ) {
    throw new UsageError(
      `--memcache-servers ${JSON.stringify(memcacheServers)} is not a list of HOST:PORT (like 10.0.0.3:11211,10.0.0.4:11211)`,
    );
  }
  const vpcEgress = values.get('--vpc-egress');
  if (
    vpcEgress !== undefined &&
    vpcEgress !== 'private-ranges-only' &&
    vpcEgress !== 'all'
  ) {
    throw new UsageError(
      `--vpc-egress ${JSON.stringify(vpcEgress)} must be private-ranges-only or all`,
    );
  }
  const vpcConnector = values.get('--vpc-connector');
  if (vpcEgress !== undefined && vpcConnector === undefined)
    throw new UsageError(
      '--vpc-egress needs --vpc-connector: it says what goes through the connector',
    );
  return {
    project,
    region,
    dryRun: switches.has('--dry-run'),
    enableApis: switches.has('--enable-apis'),
    schedulerServiceAccount: account(
      '--scheduler-service-account',
      DEFAULT_ACCOUNT_IDS.scheduler,
    ),
    runtimeServiceAccount: account(
      '--runtime-service-account',
      DEFAULT_ACCOUNT_IDS.runtime,
    ),
    buildServiceAccount: account(
      '--build-service-account',
      DEFAULT_ACCOUNT_IDS.build,
    ),
    triggerServiceAccount: account(
      '--trigger-service-account',
      DEFAULT_ACCOUNT_IDS.trigger,
    ),
    config: values.get('--config'),
    strongStore,
    database,
    databaseLocation,
    memcacheServers,
    vpcConnector,
    vpcEgress,
    ...(switches.has('--locks-page') ? {locksPage: true as const} : {}),
  };
}
