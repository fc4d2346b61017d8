import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import type { ApplyMode, Change } from '../changes';
import type { FunctionsSource } from '../firebase-config';
import { RETRY_SUBSCRIPTION } from '../topology';
import { applyWorkerDeliveryPolicy, ensureRetrySubscription, ensureTopics } from './cloud-pubsub';
import { databaseCreation, type DatabaseState } from './datastore-database';
import type { DeployOptions } from './deploy-options';
import { deadLetterGrantCommands, deployCommands, functionUrl, IGNORE_FILE, projectNumberCommand, retryPushInvokerCommand, retryPushServiceAccount } from './gcloud-commands';
import { cleanupJob, ensureSchedulerJob, type SchedulerApi } from './scheduler-job';

export interface DeployTools {
  readonly pubsub: PubSub;
  readonly scheduler: SchedulerApi;
  /** Runs a command line in a folder; rejects when it fails. */
  readonly run: (command: string, args: readonly string[], cwd: string, env?: Record<string, string>) => Promise<void>;
  /** The project's number, for its Pub/Sub service agent (`gcloud projects describe`). */
  readonly projectNumber: (options: DeployOptions) => Promise<string>;
  /** The functions' database, or `undefined` when it does not exist (`gcloud firestore databases describe`). */
  readonly databaseState: (options: DeployOptions) => Promise<DatabaseState | undefined>;
}

/**
 * The whole deploy, in order: the Datastore-mode database (checked first, so a Native-mode one
 * stops the deploy before anything is created); topics; the firebase.json predeploy build; the
 * functions; the worker trigger's delivery policy (its subscription exists only once the worker is
 * deployed), the worker's retry subscription and its push identity's invoker grant, and the grants
 * dead-lettering needs; the scheduler job. Each step is idempotent. With dryRun, every call
 * that would change something is reported and nothing is changed (reads still happen, so the plan
 * is against the real state).
 */
export async function deploy(options: DeployOptions, source: FunctionsSource, tools: DeployTools, report: (change: Change) => void): Promise<Change[]> {
  const mode: ApplyMode = { dryRun: options.dryRun, report };
  const changes: Change[] = [];
  const command = async (resource: string, commandName: string, args: readonly string[], env?: Record<string, string>) => {
    const change: Change = { action: 'run', resource, call: [commandName, ...args.map(quoted)].join(' ') };
    if (!options.dryRun) await tools.run(commandName, args, source.source, env);
    report(change);
    changes.push(change);
  };

  const database = await tools.databaseState(options);
  const createDatabase = databaseCreation(options, database);
  const databaseResource = `firestore database ${options.database} (Datastore mode)`;
  if (createDatabase) await command(databaseResource, 'gcloud', createDatabase);
  else {
    const unchanged: Change = { action: 'unchanged', resource: `${databaseResource} in ${database?.locationId}`, call: '' };
    report(unchanged);
    changes.push(unchanged);
  }
  changes.push(...(await ensureTopics(tools.pubsub, mode)));
  for (const line of source.predeploy) {
    await command('firebase.json functions.predeploy', 'sh', ['-c', line], { RESOURCE_DIR: source.source });
  }
  const ignore = `${source.ignore.join('\n')}\n`;
  const ignoreChange: Change = { action: 'create', resource: `${IGNORE_FILE} (firebase.json functions.ignore)`, call: `write ${join(source.source, IGNORE_FILE)}: ${JSON.stringify(ignore)}` };
  if (!options.dryRun) await writeFile(join(source.source, IGNORE_FILE), ignore);
  report(ignoreChange);
  changes.push(ignoreChange);
  for (const args of deployCommands(options, source.runtime)) await command(`gcloud ${args.slice(0, 3).join(' ')}`, 'gcloud', args);
  const policies = await applyWorkerDeliveryPolicy(tools.pubsub, mode);
  changes.push(...policies);
  const triggerSubscriptions = policies.flatMap((change) => /^subscription projects\/[^/]+\/subscriptions\/(.+)$/.exec(change.resource)?.[1] ?? []);
  const projectNumber = await tools.projectNumber(options);
  // The worker's retry subscription, and its push identity's right to invoke the worker.
  const pusher = retryPushServiceAccount(projectNumber);
  const workerUrl = functionUrl(options, 'exampleWorker');
  changes.push(await ensureRetrySubscription(tools.pubsub, options.project, workerUrl, { serviceAccountEmail: pusher, audience: workerUrl }, mode));
  await command('gcloud functions add-invoker-policy-binding exampleWorker', 'gcloud', retryPushInvokerCommand(options, pusher));
  const deadLetteringSubscriptions = [...(triggerSubscriptions.length > 0 ? triggerSubscriptions : options.dryRun ? ['TRIGGER_SUBSCRIPTION'] : []), RETRY_SUBSCRIPTION];
  for (const args of deadLetterGrantCommands(options, projectNumber, deadLetteringSubscriptions)) {
    await command(`gcloud ${args.slice(0, 4).join(' ')}`, 'gcloud', args);
  }
  changes.push(await ensureSchedulerJob(tools.scheduler, cleanupJob(options), mode));
  return changes;
}

function quoted(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `gcloud projects describe`, read from its output. */
export async function readProjectNumber(options: DeployOptions): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) =>
    execFile('gcloud', projectNumberCommand(options), (error, stdout) => {
      const number = stdout.trim();
      if (error || !/^\d+$/.test(number)) reject(new Error(`could not read the number of project ${options.project}: ${error?.message ?? stdout}`));
      else resolve(number);
    }),
  );
}

export function runCommand(command: string, args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: 'inherit', env: { ...process.env, ...env } });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}`))));
  });
}
