import type {DatabaseState} from '../../infra/deploy/datastore-database';
import type {
  GcloudResult,
  GcloudRunner,
} from '../../infra/deploy/gcloud-runner';
import {neededRoles} from '../../infra/deploy/caller-permissions';
import type {DeployOptions} from '../../infra/deploy/deploy-options';
import {requiredApis} from '../../infra/deploy/required-apis';

/**
 * A Google Cloud project as the deploy's reads see it, answering gcloud's read command lines the way
 * gcloud does (output of the --format asked for, NOT_FOUND on stderr). No emulator serves these
 * admin APIs, so the preflight is tested against this stub; the command lines themselves are checked
 * by gcloud in gcloud-commands.test.ts.
 */
export interface FakeProject {
  enabledApis: Set<string>;
  accounts: Set<string>;
  database: DatabaseState | undefined;
  /** The worker's Eventarc trigger and its subscription id, once deployed. */
  worker: {trigger: string; subscription: string} | undefined;
  projectNumber: string;
  /** Permissions the caller holds. */
  granted: Set<string>;
}

/** A project where everything the deploy needs is in place, except what a test takes away. */
export function readyProject(
  options: DeployOptions,
  changes: Partial<FakeProject> = {},
): FakeProject {
  return {
    enabledApis: new Set(requiredApis(options)),
    accounts: new Set([
      options.runtimeServiceAccount,
      options.buildServiceAccount,
      options.triggerServiceAccount,
      options.schedulerServiceAccount,
    ]),
    database: {type: 'DATASTORE_MODE', locationId: options.region},
    worker: undefined,
    projectNumber: '123456789',
    granted: new Set(
      neededRoles({...options, enableApis: true}).flatMap(
        ([, permissions]) => permissions,
      ),
    ),
    ...changes,
  };
}

/** A brand-new project: default APIs only (serviceusage among them), nothing of ours. */
export function freshProject(options: DeployOptions): FakeProject {
  return readyProject(options, {
    enabledApis: new Set([
      'serviceusage.googleapis.com',
      'datastore.googleapis.com',
    ]),
    accounts: new Set(),
    database: undefined,
  });
}

export function fakeGcloud(
  project: FakeProject,
  calls: string[][] = [],
): GcloudRunner {
  const ok = (stdout: string): GcloudResult => ({code: 0, stdout, stderr: ''});
  const notFound = (what: string): GcloudResult => ({
    code: 1,
    stdout: '',
    stderr: `ERROR: (gcloud) NOT_FOUND: ${what} does not exist.\n`,
  });
  const disabled = (api: string): GcloudResult => ({
    code: 1,
    stdout: '',
    stderr: `ERROR: (gcloud) PERMISSION_DENIED: SERVICE_DISABLED: ${api} has not been used in this project or it is disabled.\n`,
  });
  return async args => {
    calls.push([...args]);
    const [group, sub, verb] = args;
    const positional = args[3] ?? '';
    if (group === 'services' && sub === 'list')
      return ok([...project.enabledApis].join('\n') + '\n');
    if (group === 'iam' && verb === 'describe') {
      if (!project.enabledApis.has('iam.googleapis.com'))
        return disabled('iam.googleapis.com');
      return project.accounts.has(positional)
        ? ok(`${positional}\n`)
        : notFound(`Service account ${positional}`);
    }
    if (group === 'firestore' && verb === 'describe') {
      if (!project.enabledApis.has('firestore.googleapis.com'))
        return disabled('firestore.googleapis.com');
      return project.database
        ? ok(`${project.database.type}\t${project.database.locationId}\n`)
        : notFound('database');
    }
    if (group === 'projects' && sub === 'describe')
      return ok(`${project.projectNumber}\n`);
    if (group === 'functions' && sub === 'describe')
      return project.worker
        ? ok(`${project.worker.trigger}\n`)
        : notFound(`Resource 'projects/p/locations/r/functions/${args[2]}'`);
    if (group === 'eventarc' && verb === 'describe') {
      const project_ = /--project=(.+)/.exec(
        args.find(arg => arg.startsWith('--project=')) ?? '',
      )?.[1];
      return project.worker
        ? ok(
            `projects/${project_}/subscriptions/${project.worker.subscription}\n`,
          )
        : notFound('trigger');
    }
    throw new Error(
      `the fake project does not answer gcloud ${args.join(' ')}`,
    );
  };
}

export function fakePermissions(project: FakeProject) {
  return async (_project: string, permissions: readonly string[]) =>
    permissions.filter(permission => project.granted.has(permission));
}
