import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import type {PubSub} from '@google-cloud/pubsub';
import type {ApplyMode, Change} from '../changes';
import type {FunctionsSource} from '../firebase-config';
import {RETRY_SUBSCRIPTION} from '../topology';
import {
  applyWorkerDeliveryPolicy,
  ensureRetrySubscription,
  ensureTopics,
} from './cloud-pubsub';
import {retryRulesFor, withRetries} from './command-retry';
import {type DeployOptions, deploysWorker} from './deploy-options';
import {
  deadLetterGrantCommands,
  functionDeployCommand,
  functionUrl,
  IGNORE_FILE,
} from './gcloud-commands';
import {
  invokerGrants,
  projectGrants,
  topicGrants,
  valkeyGrants,
} from './iam-grants';
import {deployApiToken, deployedFunctions} from './locks-page-deploy';
import {
  preflight,
  PreflightError,
  type PreflightFindings,
  type ProjectReads,
} from './preflight';
import {enableApisCommand} from './required-apis';
import {accountCreateCommand} from './service-accounts';
import {serviceIdentityCommands} from './service-identities';
import {
  cleanupJob,
  ensureSchedulerJob,
  type SchedulerApi,
} from './scheduler-job';
import {readTriggerSubscription, WORKER} from './worker-trigger';

export interface DeployTools extends ProjectReads {
  readonly pubsub: PubSub;
  readonly scheduler: SchedulerApi;
  /** Runs a command line that changes something, in a folder; rejects when it fails. Never called by a dry run. */
  readonly run: (
    command: string,
    args: readonly string[],
    cwd: string,
    env?: Record<string, string>,
  ) => Promise<void>;
  /** Waits between attempts of a command that failed while IAM catches up (command-retry.ts). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Told what the deploy says besides its changes: retries and their reasons, the preflight's notes. Default: stderr. */
  readonly say?: (line: string) => void;
  /**
   * A plan's stand-in project (offline-plan.ts): told each command a dry run would run, so the
   * reads after it see its effect (the APIs it enables, the accounts it creates).
   */
  readonly simulate?: (args: readonly string[]) => void;
}

/**
 * The whole deploy. First the preflight, which only reads: gcloud's version, the caller's
 * permissions, the APIs, the service accounts (and acting as each), the database, the organisation
 * policies, the worker's trigger; any problem stops the deploy there, before any change, with one
 * line per problem. Then, in order: APIs (with --enable-apis), the Eventarc and Pub/Sub service
 * agents, missing service accounts, the database (in the mode of the STRONG store), the
 * project-level grants; topics and the worker's publisher grants on two of them; the firebase.json
 * predeploy build; the functions; the invoker grants; the worker trigger's delivery policy (its
 * subscription exists only once the worker is deployed), the retry subscription, and the grants
 * dead-lettering needs; the scheduler job. Without the example worker, everything of the worker's
 * is left out. Each step is idempotent; a command that fails while IAM catches up is retried
 * within a bound (command-retry.ts). With dryRun, every call that would change something is
 * reported and nothing is changed (reads still happen, so the plan is against the real state; a
 * plan's reads are answered by a stand-in fresh project).
 */
export async function deploy(
  options: DeployOptions,
  source: FunctionsSource,
  tools: DeployTools,
  report: (change: Change) => void,
): Promise<Change[]> {
  const mode: ApplyMode = {dryRun: options.dryRun, report};
  const changes: Change[] = [];
  const sleep =
    tools.sleep ??
    ((ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms)));
  const noted = (change: Change) => {
    report(change);
    changes.push(change);
  };
  const say =
    tools.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  // Accounts this deploy creates: a grant to one may have to wait until IAM sees it.
  const fresh = new Set<string>();
  const command = async (
    resource: string,
    commandName: string,
    args: readonly string[],
    env?: Record<string, string>,
  ) => {
    const change: Change = {
      action: 'run',
      resource,
      call: [commandName, ...args.map(quoted)].join(' '),
    };
    if (options.dryRun) tools.simulate?.(args);
    else
      await withRetries(
        resource,
        commandName === 'gcloud' ? retryRulesFor(args, fresh) : [],
        () => tools.run(commandName, args, source.source, env),
        sleep,
        say,
      );
    noted(change);
  };

  const found = await readyProject(options, tools, command);
  for (const line of found.notes) say(`note: ${line}`);
  for (const account of found.accountsToCreate) fresh.add(account.email);

  for (const identity of serviceIdentityCommands(options))
    await command(
      `the ${identity.service} service agent`,
      'gcloud',
      identity.args,
    );
  for (const account of found.accountsToCreate)
    await command(
      `service account ${account.email}`,
      'gcloud',
      accountCreateCommand(options, account.id, account.purpose),
    );
  const databaseResource = `firestore database ${options.database} (${options.strongStore === 'firestore' ? 'Firestore native mode' : 'Datastore mode'})`;
  if (found.createDatabase)
    await command(databaseResource, 'gcloud', found.createDatabase);
  else
    noted({
      action: 'unchanged',
      resource: `${databaseResource} in ${found.database?.locationId}`,
      call: '',
    });
  for (const grant of projectGrants(options))
    await command(grant.resource, 'gcloud', grant.args);
  // Before the functions: their first WEAK lock must find the secret readable and the token accepted.
  for (const grant of valkeyGrants(options, found.valkey))
    await command(grant.resource, 'gcloud', grant.args);

  if (deploysWorker(options))
    changes.push(...(await ensureTopics(tools.pubsub, mode)));
  for (const grant of topicGrants(options))
    await command(grant.resource, 'gcloud', grant.args);

  for (const line of source.predeploy)
    await command('firebase.json functions.predeploy', 'sh', ['-c', line], {
      RESOURCE_DIR: source.source,
    });
  const ignore = `${source.ignore.join('\n')}\n`;
  if (!options.dryRun)
    await writeFile(join(source.source, IGNORE_FILE), ignore);
  noted({
    action: 'create',
    resource: `${IGNORE_FILE} (firebase.json functions.ignore)`,
    call: `write ${join(source.source, IGNORE_FILE)}: ${JSON.stringify(ignore)}`,
  });
  for (const spec of deployedFunctions(options))
    await command(
      `gcloud functions deploy ${spec.name}${spec.name === WORKER && found.keepTrigger ? ' (its trigger as deployed: trigger flags left out)' : ''}`,
      'gcloud',
      functionDeployCommand(
        spec,
        options,
        source.runtime,
        spec.name === WORKER && found.keepTrigger,
        found.valkey,
      ),
    );
  for (const grant of invokerGrants(options))
    await command(grant.resource, 'gcloud', grant.args);
  if (deploysWorker(options))
    await deliverToWorker(options, tools, found, mode, command, noted, changes);
  changes.push(
    await ensureSchedulerJob(
      tools.scheduler,
      cleanupJob(options, deployApiToken(tools.env)),
      mode,
    ),
  );
  return changes;
}

/**
 * After the functions, the worker's delivery: its trigger subscription's policy, its retry
 * subscription, and the grants dead-lettering needs.
 */
async function deliverToWorker(
  options: DeployOptions,
  tools: DeployTools,
  found: PreflightFindings,
  mode: ApplyMode,
  command: (
    resource: string,
    commandName: string,
    args: readonly string[],
  ) => Promise<void>,
  noted: (change: Change) => void,
  changes: Change[],
): Promise<void> {
  // Read again after the deploy: a first deploy has just created the trigger, and a redeploy should have kept it.
  const triggerSubscription = options.dryRun
    ? found.triggerSubscription
    : await readTriggerSubscription(tools.gcloud, options);
  if (
    found.triggerSubscription !== undefined &&
    triggerSubscription !== found.triggerSubscription
  ) {
    noted({
      action: 'update',
      resource: `the ${WORKER} trigger's subscription`,
      call: `gcloud replaced the trigger: ${found.triggerSubscription} is no longer the worker's, ${triggerSubscription} is (messages still in the old one are not delivered to the worker)`,
    });
  }
  changes.push(
    await applyWorkerDeliveryPolicy(tools.pubsub, triggerSubscription, mode),
  );
  const workerUrl = functionUrl(options, WORKER);
  changes.push(
    await ensureRetrySubscription(
      tools.pubsub,
      options.project,
      workerUrl,
      {serviceAccountEmail: options.triggerServiceAccount, audience: workerUrl},
      mode,
    ),
  );
  const deadLettering = [
    triggerSubscription ?? 'TRIGGER_SUBSCRIPTION',
    RETRY_SUBSCRIPTION,
  ];
  for (const args of deadLetterGrantCommands(
    options,
    found.projectNumber,
    deadLettering,
  )) {
    await command(
      `gcloud ${args.slice(0, 4).join(' ')} ${args[4]}`,
      'gcloud',
      args,
    );
  }
}

/**
 * The preflight, and with --enable-apis the one change allowed before it completes: enabling the
 * APIs it found off (nothing behind a disabled API can be read), then the preflight again.
 */
async function readyProject(
  options: DeployOptions,
  reads: ProjectReads,
  command: (
    resource: string,
    commandName: string,
    args: readonly string[],
  ) => Promise<void>,
): Promise<PreflightFindings> {
  const found = await preflight(options, reads);
  if (found.apisToEnable.length === 0) return found;
  await command(
    `APIs ${found.apisToEnable.join(', ')}`,
    'gcloud',
    enableApisCommand(options, found.apisToEnable),
  );
  if (options.dryRun && !options.plan) {
    throw new PreflightError([
      `the rest of the plan reads the project through ${found.apisToEnable.join(', ')}: a deploy with --enable-apis enables them first; after that, --dry-run shows the rest`,
    ]);
  }
  const again = await preflight(options, reads);
  if (again.apisToEnable.length > 0)
    throw new PreflightError([
      `still not enabled after \`gcloud services enable\`: ${again.apisToEnable.join(', ')}; run the deploy again in a minute`,
    ]);
  return again;
}

function quoted(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}
