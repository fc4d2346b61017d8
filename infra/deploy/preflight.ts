import {
  ACT_AS,
  actAsProblem,
  missingRoles,
  neededRoles,
  type AccountPermissionsCheck,
  type PermissionsCheck,
} from './caller-permissions';
import {
  databaseCreation,
  DatabaseMismatchError,
  databaseStateFrom,
  type DatabaseState,
} from './datastore-database';
import {type DeployOptions, deploysWorker} from './deploy-options';
import {databaseDescribeCommand, projectNumberCommand} from './gcloud-commands';
import {readFailed, saysNotFound, type GcloudRunner} from './gcloud-runner';
import {deployApiToken, locksPageProblem} from './locks-page-deploy';
import {
  enableApisCommand,
  enabledApisCommand,
  OPTIONAL_APIS,
  REQUIRED_APIS,
  requiredApis,
} from './required-apis';
import {
  accountDescribeCommand,
  creatableId,
  distinctAccounts,
} from './service-accounts';
import {gcloudProblems} from './gcloud-version';
import {judgeOrgPolicies, readOrgPolicies} from './org-policies';
import {readValkeyTarget, type ValkeyTarget} from './valkey-instance';
import {readWorkerTrigger, triggerMatches} from './worker-trigger';

/** What the deploy reads before it changes anything; stubs in tests. */
export interface ProjectReads {
  readonly gcloud: GcloudRunner;
  readonly permissions: PermissionsCheck;
  /** testIamPermissions on one service account: actAs is tested where it may be granted. */
  readonly accountPermissions: AccountPermissionsCheck;
  /** The deploy's own environment, for LOCKS_API_TOKEN. Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Everything the preflight found, from which the deploy's plan is made. */
export interface PreflightFindings {
  /** APIs to enable first (only with --enable-apis; without it a disabled API is a problem). */
  readonly apisToEnable: readonly string[];
  readonly accountsToCreate: readonly {
    readonly id: string;
    readonly email: string;
    readonly purpose: string;
  }[];
  readonly database: DatabaseState | undefined;
  /** gcloud's command line that creates the missing database, if it is. */
  readonly createDatabase: string[] | undefined;
  readonly projectNumber: string;
  /** The worker trigger's subscription today; `undefined` before the worker's first deploy (or without the worker). */
  readonly triggerSubscription: string | undefined;
  /** The worker's trigger is deployed and already as the deploy would make it: its flags are left out. */
  readonly keepTrigger: boolean;
  /** WEAK locks' Valkey settings for the functions (undefined without a Valkey option). */
  readonly valkey: ValkeyTarget | undefined;
  /** What may matter but does not stop the deploy (an organisation policy it cannot judge): printed first. */
  readonly notes: readonly string[];
}

/** The deploy cannot succeed as asked; raised before it changes anything. One line per problem, each naming its fix. */
export class PreflightError extends Error {
  override readonly name = 'PreflightError';
  constructor(readonly problems: readonly string[]) {
    super(
      `the project is not ready; nothing was changed:\n${problems.map(problem => `  - ${problem}`).join('\n')}`,
    );
  }
}

/**
 * Checks, in the order each check needs the one before: --locks-page's API token (no read);
 * gcloud's version; the caller's permissions (every later read needs some); the organisation
 * policies; the APIs (the reads after call them); the service accounts and acting as each; the
 * database; WEAK locks' Valkey instance and secret (valkey-instance.ts); the worker's trigger. Throws PreflightError with every problem found, or returns the findings.
 * With --enable-apis and APIs to enable, returns after the API check: the deploy enables them and
 * calls this again, since nothing behind a disabled API can be read.
 */
export async function preflight(
  options: DeployOptions,
  reads: ProjectReads,
): Promise<PreflightFindings> {
  const {gcloud} = reads;
  // Needs no read, so it comes first.
  const pageProblem = locksPageProblem(options, deployApiToken(reads.env));
  if (pageProblem) throw new PreflightError([pageProblem]);
  const versionProblems = await gcloudProblems(gcloud, options);
  if (versionProblems.length > 0) throw new PreflightError(versionProblems);
  const permissions = neededRoles(options).flatMap(([, needed]) => needed);
  const roleProblems = missingRoles(
    options,
    await reads.permissions(options.project, permissions),
  );
  if (roleProblems.length > 0) throw new PreflightError(roleProblems);

  // Read before anything can change (even --enable-apis's enabling), and judged at once; the
  // policy against creating accounts is judged again once the accounts to create are known.
  const policiesRead = await readOrgPolicies(gcloud, options);
  const policies = judgeOrgPolicies(policiesRead, {
    options,
    accountsToCreate: 0,
    apis: requiredApis(options),
  });
  if (policies.problems.length > 0) throw new PreflightError(policies.problems);

  const listApis = enabledApisCommand(options);
  const listed = await gcloud(listApis);
  if (listed.code !== 0)
    throw new PreflightError([
      readFailed(
        `the enabled APIs of project ${options.project}`,
        listApis,
        listed,
      ).message,
    ]);
  const enabled = new Set(listed.stdout.split(/\s+/).filter(Boolean));
  const disabled = requiredApis(options).filter(api => !enabled.has(api));
  if (disabled.length > 0) {
    if (options.enableApis)
      return {
        apisToEnable: disabled,
        accountsToCreate: [],
        database: undefined,
        createDatabase: undefined,
        projectNumber: '',
        triggerSubscription: undefined,
        keepTrigger: false,
        valkey: undefined,
        notes: [],
      };
    const fix = `run \`gcloud ${enableApisCommand(options, disabled).slice(0, -1).join(' ')}\`, or deploy with --enable-apis`;
    throw new PreflightError(
      disabled.map(
        api =>
          `API ${api} is not enabled (${REQUIRED_APIS[api] ?? OPTIONAL_APIS[api]}): ${fix}`,
      ),
    );
  }

  const problems: string[] = [];
  const accountsToCreate: {id: string; email: string; purpose: string}[] = [];
  const existing: string[] = [];
  for (const account of distinctAccounts(options)) {
    const describe = accountDescribeCommand(options, account.email);
    const found = await gcloud(describe);
    if (found.code === 0) {
      existing.push(account.email);
      continue;
    }
    if (!saysNotFound(found)) {
      problems.push(
        readFailed(`service account ${account.email}`, describe, found).message,
      );
      continue;
    }
    const id = creatableId(options, account.email);
    if (id)
      accountsToCreate.push({
        id,
        email: account.email,
        purpose: account.purpose,
      });
    else
      problems.push(
        `service account ${account.email} (${account.use}) does not exist, and the deploy creates accounts only in project ${options.project}: create it, or drop ${account.flag} to use the default`,
      );
  }

  problems.push(
    ...(await actAsProblems(options, reads, accountsToCreate, existing)),
  );

  let database: DatabaseState | undefined;
  let createDatabase: string[] | undefined;
  const describeDatabase = databaseDescribeCommand(options);
  try {
    const described = await gcloud(describeDatabase);
    database = databaseStateFrom(
      described.code,
      described.stdout,
      described.stderr,
    );
    createDatabase = databaseCreation(options, database);
  } catch (error) {
    problems.push(
      error instanceof DatabaseMismatchError
        ? error.message.replace(/ Nothing was changed\.$/, '')
        : (error as Error).message,
    );
  }

  const valkey = await readValkeyTarget(options, gcloud);
  problems.push(...valkey.problems);

  problems.push(
    ...judgeOrgPolicies(policiesRead, {
      options,
      accountsToCreate: accountsToCreate.length,
      apis: requiredApis(options),
    }).problems,
  );

  // The project number names the Pub/Sub service agent, which only the worker's delivery needs.
  let projectNumber = '';
  let worker: Awaited<ReturnType<typeof readWorkerTrigger>>;
  if (deploysWorker(options)) {
    const describeProject = projectNumberCommand(options);
    const number = await gcloud(describeProject);
    projectNumber = number.stdout.trim();
    // A plan has no project to read: its number stays a placeholder.
    if (number.code !== 0 || !(options.plan || /^\d+$/.test(projectNumber)))
      problems.push(
        readFailed(
          `the number of project ${options.project}`,
          describeProject,
          number,
        ).message,
      );
    try {
      worker = await readWorkerTrigger(gcloud, options);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new PreflightError(problems);
  return {
    apisToEnable: [],
    accountsToCreate,
    database,
    createDatabase,
    projectNumber,
    triggerSubscription: worker?.subscription,
    keepTrigger:
      worker !== undefined && triggerMatches(worker.deployed, options),
    valkey: valkey.target,
    notes: [...policies.notes, ...valkey.notes],
  };
}

/** actAs on each account that exists (where a grant on the account counts), and on the project for those the deploy creates. */
async function actAsProblems(
  options: DeployOptions,
  reads: ProjectReads,
  toCreate: readonly {readonly email: string}[],
  existing: readonly string[],
): Promise<string[]> {
  const created = new Set(toCreate.map(account => account.email));
  const problems: string[] = [];
  if (created.size > 0) {
    const held = await reads.permissions(options.project, [ACT_AS]);
    if (!held.includes(ACT_AS))
      problems.push(actAsProblem(options, [...created].join(', '), true));
  }
  for (const email of existing) {
    const held = await reads.accountPermissions(email, [ACT_AS]);
    if (!held.includes(ACT_AS))
      problems.push(actAsProblem(options, email, false));
  }
  return problems;
}
