import type {StrongStore} from '../../shared';
import {
  DATABASE_ID_RULE,
  DEFAULT_DATABASE,
  GOOGLE_CLOUD_NAMES,
  type GoogleCloudName,
  isDatabaseId,
  isGoogleCloudName,
  isMemcacheServerList,
  isStrongStore,
  MEMCACHE_SERVERS_RULE,
  STRONG_STORES,
} from '../../shared/internal';
import {
  asksForHelp,
  CommandLineError,
  HelpRequested,
  readCommandLine,
} from '../cli/command-line';

/** `npm run deploy -- --project P --region R [--dry-run] [...]`, parsed and checked before any call is made. */
export interface DeployOptions {
  readonly project: string;
  readonly region: string;
  readonly dryRun: boolean;
  /**
   * `--plan`: the dry run of a brand-new project, made offline (no credentials, no network, no
   * gcloud): every read is answered as a fresh project would answer it. Implies dryRun and enableApis.
   */
  readonly plan?: true;
  /** `--without-example-worker`: leave exampleWorker and its example-work* topics, subscriptions and grants out (deploysWorker). */
  readonly withoutExampleWorker?: true;
  /** Enable the APIs the deploy needs when some are off; without it the preflight stops and names them. */
  readonly enableApis: boolean;
  /** Cloud Scheduler calls cleanupLocks with an OIDC token for this account; it gets the invoker role on it. */
  readonly schedulerServiceAccount: string;
  /** The HTTP functions' runtime identity: roles/datastore.user, and nothing on Pub/Sub. */
  readonly runtimeServiceAccount: string;
  /**
   * exampleWorker's own runtime identity: roles/datastore.user, and the only publisher on the
   * worker's retry and dead-letter topics. Absent: the default (workerAccount).
   */
  readonly workerServiceAccount?: string;
  /** Cloud Build runs the functions' builds as this account (log writer, Artifact Registry writer, object reader). */
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
  /**
   * Direct VPC egress instead of a connector (`gcloud functions deploy --network/--subnet`, gcloud
   * 558 or later; private ranges only, Cloud Run's default for it). Either names the VPC; both may be given.
   */
  readonly network?: string;
  readonly subnet?: string;
  /**
   * `--valkey-instance`: WEAK locks on this Memorystore for Valkey instance (in `valkeyLocation`,
   * default the region). The preflight reads its endpoint, TLS, auth mode and settings, and the
   * deploy sets LOCKS_VALKEY_URL (and LOCKS_VALKEY_CA, LOCKS_VALKEY_AUTH) on every function.
   */
  readonly valkeyInstance?: string;
  readonly valkeyLocation?: string;
  /**
   * `--valkey-url-secret`: a Secret Manager secret holding the whole LOCKS_VALKEY_URL (it carries a
   * password), exposed to every function as that variable. Alone: a self-managed Valkey.
   */
  readonly valkeyUrlSecret?: string;
  /** `--locks-page`: deploy the live locks page too, turned on (absent: the page is neither deployed nor touched). */
  readonly locksPage?: true;
}

/** The project's default database, as gcloud and the Firestore API name it. */
export {DEFAULT_DATABASE};

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The accounts the deploy creates when they are missing: ACCOUNT_ID@PROJECT.iam.gserviceaccount.com. */
export const DEFAULT_ACCOUNT_IDS = Object.freeze({
  runtime: 'locks-runtime',
  worker: 'locks-worker',
  build: 'locks-build',
  trigger: 'locks-trigger',
  scheduler: 'locks-scheduler',
});

/** The first line of the usage; a bad command line's error ends with it. */
const SYNOPSIS =
  'usage: npm run deploy -- --project PROJECT --region REGION [--plan | --dry-run] [options]';

export const USAGE = `${SYNOPSIS}

Creates or updates everything in a Google Cloud project. Needs a logged-in gcloud (gcloud auth login)
and application default credentials (gcloud auth application-default login); the dry run too.
--plan needs neither: it prints what a brand-new project would get, offline.

  --project PROJECT                     the Google Cloud project (required)
  --region REGION                       where the functions run (required)
  --plan                                print every call a brand-new project would get; offline, no login
  --dry-run                             print every call that would change something; change nothing
  --enable-apis                         enable the APIs the deploy needs when some are off
  --strong-store datastore|firestore    where STRONG locks live (default datastore)
  --database NAME                       that store's database (default: the project's "(default)")
  --database-location LOCATION          where to create a missing database (default: the region)
  --memcache-servers HOST:PORT[,...]    WEAK locks' memcached servers (MEMCACHE_SERVERS of every function)
  --valkey-instance INSTANCE            WEAK locks on this Memorystore for Valkey instance (its endpoint, TLS CA
                                        and auth mode are read; needs --network/--subnet or --vpc-connector)
  --valkey-location LOCATION            the instance's region (default: --region)
  --valkey-url-secret SECRET            a Secret Manager secret holding LOCKS_VALKEY_URL (password auth, or a
                                        self-managed Valkey without --valkey-instance)
  --vpc-connector CONNECTOR             a Serverless VPC Access connector, to reach a private memcached or Valkey
  --vpc-egress private-ranges-only|all  what goes through the connector (needs --vpc-connector)
  --network NETWORK, --subnet SUBNET    Direct VPC egress (private ranges) instead of a connector; gcloud 558+
  --without-example-worker              leave exampleWorker and its example-work* topics out
  --locks-page                          deploy the live locks page too (needs LOCKS_API_TOKEN)
  --runtime-service-account EMAIL       the HTTP functions' identity (default locks-runtime@PROJECT.iam.gserviceaccount.com)
  --worker-service-account EMAIL        exampleWorker's identity (default locks-worker@...)
  --build-service-account EMAIL         Cloud Build's identity (default locks-build@...)
  --trigger-service-account EMAIL       the worker trigger's push identity (default locks-trigger@...)
  --scheduler-service-account EMAIL     Cloud Scheduler's identity for cleanupLocks (default locks-scheduler@...)
  --config FILE                         firebase.json to read the functions source from (default firebase.json)
  -h, --help                            print this and exit

Environment: LOCKS_API_TOKEN (with --locks-page), GCLOUD_BINARY (the gcloud to run; default gcloud),
GOOGLE_CLOUD_QUOTA_PROJECT (the Pub/Sub and Scheduler clients' quota project; default the deployed project).
Exit codes: 0 done, 1 failed or stopped by the preflight, 2 bad arguments.`;

/** Every flag; a string one takes a value, a boolean one is a switch. */
export const DEPLOY_OPTIONS = {
  project: {type: 'string'},
  region: {type: 'string'},
  'scheduler-service-account': {type: 'string'},
  'runtime-service-account': {type: 'string'},
  'worker-service-account': {type: 'string'},
  'build-service-account': {type: 'string'},
  'trigger-service-account': {type: 'string'},
  config: {type: 'string'},
  'strong-store': {type: 'string'},
  database: {type: 'string'},
  'database-location': {type: 'string'},
  'memcache-servers': {type: 'string'},
  'valkey-instance': {type: 'string'},
  'valkey-location': {type: 'string'},
  'valkey-url-secret': {type: 'string'},
  'vpc-connector': {type: 'string'},
  'vpc-egress': {type: 'string'},
  network: {type: 'string'},
  subnet: {type: 'string'},
  'dry-run': {type: 'boolean'},
  plan: {type: 'boolean'},
  'without-example-worker': {type: 'boolean'},
  'enable-apis': {type: 'boolean'},
  'locks-page': {type: 'boolean'},
} as const;

type ValueFlag = {
  [
    F in keyof typeof DEPLOY_OPTIONS
  ]: (typeof DEPLOY_OPTIONS)[F]['type'] extends 'string' ? F : never;
}[keyof typeof DEPLOY_OPTIONS];

/**
 * The command line, parsed and checked: a UsageError (exit 2) names what is wrong, before any call
 * is made. The deploy's options come from its command line only; the steps that read the
 * environment (LOCKS_API_TOKEN, GCLOUD_BINARY) take it as a parameter of their own.
 */
export function parseDeployArgs(argv: readonly string[]): DeployOptions {
  // `--help`: HelpRequested, and main prints the usage and exits 0 before any call.
  if (asksForHelp(argv)) throw new HelpRequested(USAGE);
  let line;
  try {
    line = readCommandLine(argv, DEPLOY_OPTIONS);
  } catch (error) {
    if (!(error instanceof CommandLineError)) throw error;
    const {problem} = error;
    throw new UsageError(
      problem.kind === 'unknown-option'
        ? `unknown argument ${JSON.stringify(problem.arg)}\n${SYNOPSIS} (--help says more)`
        : `${problem.option} needs a value\n${SYNOPSIS} (--help says more)`,
    );
  }
  const [positional] = line.positionals;
  if (positional !== undefined)
    throw new UsageError(
      `unknown argument ${JSON.stringify(positional)}\n${SYNOPSIS} (--help says more)`,
    );
  const values = new Map<ValueFlag, string>();
  for (const [name, value] of Object.entries(line.values)) {
    if (value === true) continue;
    // An empty value is a forgotten one: `--database ""` must not quietly mean the default.
    if (value === '')
      throw new UsageError(
        `--${name} needs a value\n${SYNOPSIS} (--help says more)`,
      );
    values.set(name as ValueFlag, value);
  }
  const switchGiven = (name: keyof typeof DEPLOY_OPTIONS): boolean =>
    line.values[name] === true;
  const project = values.get('project');
  const region = values.get('region');
  if (!project || !region)
    throw new UsageError(
      `--project and --region are required\n${SYNOPSIS} (--help says more)`,
    );
  cloudName('--project', 'project', project);
  cloudName('--region', 'region', region);
  const strongStore = values.get('strong-store') ?? 'datastore';
  if (!isStrongStore(strongStore)) {
    throw new UsageError(
      `--strong-store ${JSON.stringify(strongStore)} must be one of ${STRONG_STORES.join(', ')}`,
    );
  }
  const database = values.get('database') ?? DEFAULT_DATABASE;
  if (database !== DEFAULT_DATABASE && !isDatabaseId(database)) {
    throw new UsageError(
      `--database ${JSON.stringify(database)} is not a database id (${DATABASE_ID_RULE})`,
    );
  }
  const databaseLocation = values.get('database-location');
  if (databaseLocation !== undefined)
    cloudName('--database-location', 'location', databaseLocation);
  const account = (flag: ValueFlag, id: string): string => {
    const email =
      values.get(flag) ?? `${id}@${project}.iam.gserviceaccount.com`;
    cloudName(`--${flag}`, 'serviceAccount', email);
    return email;
  };
  const memcacheServers = values.get('memcache-servers');
  if (memcacheServers !== undefined && !isMemcacheServerList(memcacheServers)) {
    throw new UsageError(
      `--memcache-servers ${JSON.stringify(memcacheServers)} is not ${MEMCACHE_SERVERS_RULE}`,
    );
  }
  const vpcEgress = values.get('vpc-egress');
  if (
    vpcEgress !== undefined &&
    vpcEgress !== 'private-ranges-only' &&
    vpcEgress !== 'all'
  ) {
    throw new UsageError(
      `--vpc-egress ${JSON.stringify(vpcEgress)} must be private-ranges-only or all`,
    );
  }
  const vpcConnector = values.get('vpc-connector');
  if (vpcEgress !== undefined && vpcConnector === undefined)
    throw new UsageError(
      '--vpc-egress needs --vpc-connector: it says what goes through the connector',
    );
  const network = values.get('network');
  const subnet = values.get('subnet');
  for (const [flag, value] of [
    ['--network', network],
    ['--subnet', subnet],
  ] as const)
    if (value !== undefined && !VPC_NAME.test(value))
      throw new UsageError(
        `${flag} ${JSON.stringify(value)} is not a VPC name (lowercase letters, digits and hyphens) or its projects/... path`,
      );
  if ((network ?? subnet) !== undefined && vpcConnector !== undefined)
    throw new UsageError(
      '--network/--subnet (Direct VPC egress) and --vpc-connector cannot be used together: a function has one or the other',
    );
  const valkey = valkeyOptions(values, memcacheServers, {
    network,
    subnet,
    vpcConnector,
  });
  const plan = switchGiven('plan');
  const workerServiceAccount = values.get('worker-service-account');
  if (workerServiceAccount !== undefined)
    cloudName(
      '--worker-service-account',
      'serviceAccount',
      workerServiceAccount,
    );
  return {
    project,
    region,
    dryRun: plan || switchGiven('dry-run'),
    enableApis: plan || switchGiven('enable-apis'),
    schedulerServiceAccount: account(
      'scheduler-service-account',
      DEFAULT_ACCOUNT_IDS.scheduler,
    ),
    runtimeServiceAccount: account(
      'runtime-service-account',
      DEFAULT_ACCOUNT_IDS.runtime,
    ),

    buildServiceAccount: account(
      'build-service-account',
      DEFAULT_ACCOUNT_IDS.build,
    ),
    triggerServiceAccount: account(
      'trigger-service-account',
      DEFAULT_ACCOUNT_IDS.trigger,
    ),
    config: values.get('config'),
    strongStore,
    database,
    databaseLocation,
    memcacheServers,
    vpcConnector,
    vpcEgress,
    ...(plan ? {plan: true as const} : {}),
    ...(switchGiven('without-example-worker')
      ? {withoutExampleWorker: true as const}
      : {}),
    ...(workerServiceAccount ? {workerServiceAccount} : {}),
    ...(network ? {network} : {}),
    ...(subnet ? {subnet} : {}),
    ...valkey,
    ...(switchGiven('locks-page') ? {locksPage: true as const} : {}),
  };
}

/** A Memorystore for Valkey instance id: what `gcloud memorystore instances create` takes. */
const VALKEY_INSTANCE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A Secret Manager secret: its id in the project, or its full name in another. */
const SECRET_NAME =
  /^(projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/secrets\/)?[A-Za-z0-9_-]{1,255}$/;

/** WEAK locks on Valkey: an instance, a secret URL, or both; never beside memcached. */
function valkeyOptions(
  values: ReadonlyMap<ValueFlag, string>,
  memcacheServers: string | undefined,
  network: {
    network?: string | undefined;
    subnet?: string | undefined;
    vpcConnector?: string | undefined;
  },
): Pick<
  DeployOptions,
  'valkeyInstance' | 'valkeyLocation' | 'valkeyUrlSecret'
> {
  const valkeyInstance = values.get('valkey-instance');
  const valkeyLocation = values.get('valkey-location');
  const valkeyUrlSecret = values.get('valkey-url-secret');
  if (valkeyInstance !== undefined && !VALKEY_INSTANCE.test(valkeyInstance))
    throw new UsageError(
      `--valkey-instance ${JSON.stringify(valkeyInstance)} is not an instance id (lowercase letters, digits and hyphens, 1 to 63, starting with a letter)`,
    );
  if (valkeyLocation !== undefined) {
    if (valkeyInstance === undefined)
      throw new UsageError(
        '--valkey-location needs --valkey-instance: it says where the instance is',
      );
    cloudName('--valkey-location', 'location', valkeyLocation);
  }
  if (valkeyUrlSecret !== undefined && !SECRET_NAME.test(valkeyUrlSecret))
    throw new UsageError(
      `--valkey-url-secret ${JSON.stringify(valkeyUrlSecret)} is not a secret id (letters, digits, - and _) or projects/PROJECT/secrets/SECRET`,
    );
  if ((valkeyInstance ?? valkeyUrlSecret) === undefined) return {};
  if (memcacheServers !== undefined)
    throw new UsageError(
      '--memcache-servers and --valkey-instance/--valkey-url-secret both say where WEAK locks live: give one',
    );
  if (
    valkeyInstance !== undefined &&
    (network.network ?? network.subnet ?? network.vpcConnector) === undefined
  )
    throw new UsageError(
      '--valkey-instance needs --network/--subnet (Direct VPC egress) or --vpc-connector: the instance has only a private address',
    );
  return {
    ...(valkeyInstance === undefined ? {} : {valkeyInstance}),
    ...(valkeyLocation === undefined ? {} : {valkeyLocation}),
    ...(valkeyUrlSecret === undefined ? {} : {valkeyUrlSecret}),
  };
}

/** Whether this deploy includes the example worker (not `--without-example-worker`). */
export function deploysWorker(options: DeployOptions): boolean {
  return options.withoutExampleWorker !== true;
}

/** The worker's runtime account: `--worker-service-account`, or locks-worker@PROJECT. */
export function workerAccount(options: DeployOptions): string {
  return (
    options.workerServiceAccount ??
    `${DEFAULT_ACCOUNT_IDS.worker}@${options.project}.iam.gserviceaccount.com`
  );
}

/** A VPC network or subnet: its name (RFC 1035), or its full resource path. */
const VPC_NAME =
  /^(projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/(global\/networks|regions\/[a-z]+-[a-z]+\d+\/subnetworks)\/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A name Google Cloud would refuse, refused here first, before the deploy's first call. */
function cloudName(flag: string, kind: GoogleCloudName, value: string): void {
  if (!isGoogleCloudName(kind, value))
    throw new UsageError(
      `${flag} ${JSON.stringify(value)} is not ${GOOGLE_CLOUD_NAMES[kind].noun}`,
    );
}
