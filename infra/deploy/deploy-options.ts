/** `npm run deploy -- --project P --region R [--dry-run] [...]`, parsed and checked before any call is made. */
export interface DeployOptions {
  readonly project: string;
  readonly region: string;
  readonly dryRun: boolean;
  /** Cloud Scheduler calls cleanupLocks with an OIDC token for this account; it gets the invoker role on it. */
  readonly schedulerServiceAccount: string;
  /** The functions' runtime identity. Default: the project's default compute service account. */
  readonly runtimeServiceAccount: string | undefined;
  /** firebase.json to read the functions source from. Default: the repository's. */
  readonly config: string | undefined;
  /** The Datastore-mode database of STRONG locks (and the example worker). Default: `(default)`. */
  readonly database: string;
  /** Where to create the database when it is missing. Default: the region. */
  readonly databaseLocation: string | undefined;
}

/** The project's default database, as gcloud and the Firestore API name it. */
export const DEFAULT_DATABASE = '(default)';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE =
  'usage: npm run deploy -- --project PROJECT --region REGION [--dry-run] ' +
  '[--scheduler-service-account EMAIL (default locks-scheduler@PROJECT.iam.gserviceaccount.com)] ' +
  '[--runtime-service-account EMAIL] [--config firebase.json] ' +
  '[--database NAME (default: the project\'s "(default)" database)] [--database-location LOCATION (default: the region)]';

const VALUE_FLAGS = ['--project', '--region', '--scheduler-service-account', '--runtime-service-account', '--config', '--database', '--database-location'] as const;

export function parseDeployArgs(argv: readonly string[]): DeployOptions {
  const values = new Map<string, string>();
  let dryRun = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--dry-run') {
      dryRun = true;
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (!(VALUE_FLAGS as readonly string[]).includes(flag)) throw new UsageError(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '' || value.startsWith('--')) throw new UsageError(`${flag} needs a value\n${USAGE}`);
    values.set(flag, value);
  }
  const project = values.get('--project');
  const region = values.get('--region');
  if (!project || !region) throw new UsageError(`--project and --region are required\n${USAGE}`);
  // The shapes Google Cloud accepts; checked here so a typo fails before the first call, not half-way.
  if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project)) throw new UsageError(`--project ${JSON.stringify(project)} is not a project id`);
  if (!/^[a-z]+-[a-z]+\d+$/.test(region)) throw new UsageError(`--region ${JSON.stringify(region)} is not a region (like europe-west1)`);
  const database = values.get('--database') ?? DEFAULT_DATABASE;
  // Firestore's rule for database ids: 4 to 63 of a-z, 0-9 and -, from a letter to a letter or digit.
  if (database !== DEFAULT_DATABASE && !/^[a-z][a-z0-9-]{2,61}[a-z0-9]$/.test(database)) {
    throw new UsageError(`--database ${JSON.stringify(database)} is not a database id (4 to 63 of a-z, 0-9, -; from a letter to a letter or digit)`);
  }
  const databaseLocation = values.get('--database-location');
  // A region (europe-west1) or a multi-region (eur3, nam5).
  if (databaseLocation !== undefined && !/^[a-z]+(-[a-z]+)?\d+$/.test(databaseLocation)) {
    throw new UsageError(`--database-location ${JSON.stringify(databaseLocation)} is not a location (like europe-west1 or eur3)`);
  }
  return {
    project,
    region,
    dryRun,
    schedulerServiceAccount: values.get('--scheduler-service-account') ?? `locks-scheduler@${project}.iam.gserviceaccount.com`,
    runtimeServiceAccount: values.get('--runtime-service-account'),
    config: values.get('--config'),
    database,
    databaseLocation,
  };
}
