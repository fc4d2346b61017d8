import type {StrongStore} from '../../shared';
import {DEFAULT_DATABASE, type DeployOptions} from './deploy-options';
import {
  databaseCreateCommand,
  databaseDescribeCommand,
} from './gcloud-commands';
import {runToEnd} from '../spawn-and-wait';

/** What `gcloud firestore databases describe` says of a database that exists. */
export interface DatabaseState {
  /** `DATASTORE_MODE` or `FIRESTORE_NATIVE`. */
  readonly type: string;
  readonly locationId: string;
}

/** The database cannot serve the functions as asked; raised before the deploy changes anything. */
export class DatabaseMismatchError extends Error {
  override readonly name = 'DatabaseMismatchError';
}

/** What `describe` calls each mode, and how a message names it. */
const MODES: Readonly<
  Record<
    StrongStore,
    {readonly type: string; readonly name: string; readonly api: string}
  >
> = {
  datastore: {
    type: 'DATASTORE_MODE',
    name: 'Datastore mode',
    api: 'the Datastore API (STRONG locks)',
  },
  firestore: {
    type: 'FIRESTORE_NATIVE',
    name: 'Firestore Native mode',
    api: 'the Firestore API (STRONG locks with --strong-store firestore)',
  },
};

/**
 * The functions' database must be in the mode of their STRONG store: the Datastore API fails against
 * a Native-mode database, and the Firestore API against a Datastore-mode one. Returns the gcloud
 * command line that creates a missing database, or `undefined` for one that is already right;
 * throws for one that can never be (the other mode, or another location than --database-location
 * asks: neither can be changed).
 */
export function databaseCreation(
  options: DeployOptions,
  state: DatabaseState | undefined,
): string[] | undefined {
  if (!state) return databaseCreateCommand(options);
  const name =
    options.database === DEFAULT_DATABASE
      ? `The default database of project ${options.project}`
      : `Database "${options.database}" of project ${options.project}`;
  const wanted = MODES[options.strongStore];
  if (state.type !== wanted.type) {
    const other = (Object.keys(MODES) as StrongStore[]).find(
      store => MODES[store].type === state.type,
    );
    throw new DatabaseMismatchError(
      `${name} is in ${other ? MODES[other].name : `mode ${state.type}`}, which ${wanted.api} cannot use. ` +
        `Deploy with --database NAME (for example --database locks): a missing database is created in ${wanted.name}` +
        `${other ? `; or keep the locks in this database with --strong-store ${other}` : ''}. Nothing was changed.`,
    );
  }
  if (
    options.databaseLocation !== undefined &&
    state.locationId !== options.databaseLocation
  ) {
    throw new DatabaseMismatchError(
      `${name} exists in ${state.locationId}, not ${options.databaseLocation}, and a database cannot move. ` +
        'Drop --database-location to use it, or choose another --database. Nothing was changed.',
    );
  }
  return undefined;
}

/** `describe` of a database; `undefined` when gcloud answers NOT_FOUND, an error for any other failure (never "missing" by guess). */
export async function readDatabaseState(
  options: DeployOptions,
  gcloud = 'gcloud',
): Promise<DatabaseState | undefined> {
  const result = await runToEnd(gcloud, databaseDescribeCommand(options));
  return databaseStateFrom(result.code ?? 1, result.stdout, result.stderr);
}

/** Reads `--format=value(type,locationId)` output: `DATASTORE_MODE<TAB>europe-west1`. */
export function databaseStateFrom(
  exitCode: number,
  stdout: string,
  stderr: string,
): DatabaseState | undefined {
  if (exitCode !== 0) {
    if (/\bNOT_FOUND\b/.test(stderr)) return undefined;
    throw new Error(
      `could not read the Firestore database (gcloud exited ${exitCode}): ${stderr.trim() || stdout.trim()}`,
    );
  }
  const [type, locationId] = stdout.trim().split(/\s+/);
  if (!type || !locationId)
    throw new Error(
      `could not read the Firestore database: unexpected gcloud output ${JSON.stringify(stdout)}`,
    );
  return {type, locationId};
}
