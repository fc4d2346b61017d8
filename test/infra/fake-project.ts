import {join} from 'node:path';
import type {Change} from '../../infra/changes';
import type {DatabaseState} from '../../infra/deploy/datastore-database';
import {deploy, type DeployTools} from '../../infra/deploy/deploy';
import type {
  GcloudResult,
  GcloudRunner,
} from '../../infra/deploy/gcloud-runner';
import {ACT_AS, neededRoles} from '../../infra/deploy/caller-permissions';
import {
  type DeployOptions,
  workerAccount,
} from '../../infra/deploy/deploy-options';
import type {PolicyRule} from '../../infra/deploy/org-policies';
import {requiredApis} from '../../infra/deploy/required-apis';
import {readFunctionsSource} from '../../infra/firebase-config';
import {
  PUBLISHED_EVENT,
  type DeployedTrigger,
} from '../../infra/deploy/worker-trigger';

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
  /**
   * The worker's Eventarc trigger and its subscription id, once deployed. Its eventTrigger is what
   * the deploy makes (the work topic, the trigger account, retries) but for `eventTrigger`'s fields.
   */
  worker:
    | {
        trigger: string;
        subscription: string;
        eventTrigger?: Partial<DeployedTrigger>;
      }
    | undefined;
  projectNumber: string;
  /** Permissions the caller holds on the project. */
  granted: Set<string>;
  /** The accounts the caller may act as (a grant on the account itself). */
  actAs: Set<string>;
  /** `gcloud version`'s SDK version; `beta: false` leaves the beta component out. */
  gcloudVersion: {sdk: string; beta: boolean};
  /** Effective organisation policies by constraint; `'unreadable'` answers PERMISSION_DENIED. Absent: none set. */
  orgPolicies: Record<string, readonly PolicyRule[] | 'unreadable'>;
  /** Memorystore for Valkey instances by `LOCATION/INSTANCE`: `describe --format=json`'s resource, and the server CA chain. */
  valkeyInstances?: Record<string, {resource: object; caCerts?: string[]}>;
  /** Secret Manager secrets by `PROJECT/SECRET`. */
  secrets?: Set<string>;
}

/** A project where everything the deploy needs is in place, except what a test takes away. */
export function readyProject(
  options: DeployOptions,
  changes: Partial<FakeProject> = {},
): FakeProject {
  const accounts = [
    options.runtimeServiceAccount,
    workerAccount(options),
    options.buildServiceAccount,
    options.triggerServiceAccount,
    options.schedulerServiceAccount,
  ];
  return {
    enabledApis: new Set(requiredApis(options)),
    accounts: new Set(accounts),
    actAs: new Set(accounts),
    gcloudVersion: {sdk: '528.0.0', beta: true},
    orgPolicies: {},
    database: {type: 'DATASTORE_MODE', locationId: options.region},
    worker: undefined,
    projectNumber: '123456789',
    granted: new Set([
      ...neededRoles({...options, enableApis: true}).flatMap(
        ([, permissions]) => permissions,
      ),
      ACT_AS,
    ]),
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
  const projectOf = (args: readonly string[]) =>
    /--project=(.+)/.exec(
      args.find(arg => arg.startsWith('--project=')) ?? '',
    )?.[1];
  return async args => {
    calls.push([...args]);
    const [group, sub, verb] = args;
    const positional = args[3] ?? '';
    if (group === 'version')
      return ok(
        JSON.stringify({
          'Google Cloud SDK': project.gcloudVersion.sdk,
          core: '2025.06.20',
          ...(project.gcloudVersion.beta ? {beta: '2025.06.20'} : {}),
        }),
      );
    if (group === 'org-policies') {
      const policy = project.orgPolicies[args[2] ?? ''];
      if (policy === undefined) return notFound(`Policy ${args[2]}`);
      if (policy === 'unreadable')
        return {
          code: 1,
          stdout: '',
          stderr:
            "ERROR: (gcloud.org-policies.describe) PERMISSION_DENIED: Permission 'orgpolicy.policy.get' denied\n",
        };
      return ok(
        JSON.stringify({
          name: `projects/1/policies/${args[2]}`,
          spec: {rules: policy},
        }),
      );
    }
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
        ? ok(
            JSON.stringify({
              eventTrigger: {
                trigger: project.worker.trigger,
                eventType: PUBLISHED_EVENT,
                pubsubTopic: `projects/${projectOf(args)}/topics/example-work`,
                serviceAccountEmail: `locks-trigger@${projectOf(args)}.iam.gserviceaccount.com`,
                retryPolicy: 'RETRY_POLICY_RETRY',
                ...project.worker.eventTrigger,
              },
            }),
          )
        : notFound(`Resource 'projects/p/locations/r/functions/${args[2]}'`);
    if (group === 'memorystore') {
      if (!project.enabledApis.has('memorystore.googleapis.com'))
        return disabled('memorystore.googleapis.com');
      const location = /--location=(.+)/.exec(
        args.find(arg => arg.startsWith('--location=')) ?? '',
      )?.[1];
      const instance = project.valkeyInstances?.[`${location}/${positional}`];
      if (!instance) return notFound(`Instance ${positional}`);
      if (verb === 'describe') return ok(JSON.stringify(instance.resource));
      if (verb === 'get-certificate-authority')
        return ok(
          JSON.stringify({
            name: 'ca',
            managedServerCa: {
              caCerts: [{certificates: instance.caCerts ?? []}],
            },
          }),
        );
    }
    if (group === 'secrets' && sub === 'describe') {
      if (!project.enabledApis.has('secretmanager.googleapis.com'))
        return disabled('secretmanager.googleapis.com');
      return project.secrets?.has(`${projectOf(args)}/${args[2]}`)
        ? ok(`projects/${projectOf(args)}/secrets/${args[2]}\n`)
        : notFound(`Secret [${args[2]}]`);
    }
    if (group === 'eventarc' && verb === 'describe') {
      const project_ = projectOf(args);
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

/** actAs held on an account itself, or through the project. */
export function fakeAccountPermissions(project: FakeProject) {
  return async (email: string, permissions: readonly string[]) =>
    permissions.filter(
      permission =>
        permission === ACT_AS &&
        (project.actAs.has(email) || project.granted.has(ACT_AS)),
    );
}

/**
 * The deploy against `state`: gcloud's reads and both permission checks answered by the fake
 * project, the functions from the repository's firebase.json; `tools` gives the rest (the Pub/Sub
 * emulator, the scheduler and `run` stand-ins) and may replace any of those.
 */
export function deployToFake(
  options: DeployOptions,
  state: FakeProject,
  tools: Omit<DeployTools, keyof FakeReads> & Partial<FakeReads>,
  report: (change: Change) => void = () => undefined,
): Promise<Change[]> {
  return deploy(
    options,
    readFunctionsSource(join(__dirname, '../../../firebase.json')),
    {
      gcloud: fakeGcloud(state),
      permissions: fakePermissions(state),
      accountPermissions: fakeAccountPermissions(state),
      ...tools,
    },
    report,
  );
}

type FakeReads = Pick<
  DeployTools,
  'gcloud' | 'permissions' | 'accountPermissions'
>;
