/**
 * `npm run deploy -- --project P --region R [--plan | --dry-run]` (`--help` lists every flag):
 * creates or updates everything in a Google Cloud project. Needs a logged-in `gcloud` (`gcloud auth
 * login`) and application default credentials for the same user (`gcloud auth application-default
 * login`, used for Pub/Sub and Cloud Scheduler); the dry run reads the project's state too, so it
 * needs them as well. `--plan` needs neither: it plans a brand-new project offline.
 */
import {PubSub} from '@google-cloud/pubsub';
import {CloudSchedulerClient} from '@google-cloud/scheduler';
import {describeChange} from '../changes';
import {HelpRequested} from '../cli/command-line';
import {DEFAULT_FIREBASE_JSON, readFunctionsSource} from '../firebase-config';
import {
  resourceManagerPermissions,
  serviceAccountPermissions,
} from './caller-permissions';
import {runCommand} from './command-retry';
import {deploy, type DeployTools} from './deploy';
import {
  parseDeployArgs,
  UsageError,
  type DeployOptions,
  deploysWorker,
} from './deploy-options';
import {gcloudRunner} from './gcloud-runner';
import {ASSUMED, ASSUMED_VALKEY, planTools} from './offline-plan';
import {PreflightError} from './preflight';
import {useQuotaProject} from './quota-project';
import {deployableRuntime} from './runtime-schedule';

async function main(): Promise<void> {
  const options = parseDeployArgs(process.argv.slice(2));
  const source = readFunctionsSource(options.config ?? DEFAULT_FIREBASE_JSON);
  const {warning} = deployableRuntime(source.runtime, new Date());
  if (warning) process.stderr.write(`warning: ${warning}\n`);
  process.stdout.write(
    `${options.plan ? 'plan: ' : options.dryRun ? 'dry run: nothing is changed; ' : ''}deploying to project ${options.project}, region ${options.region}, runtime ${source.runtime}, STRONG locks on ${options.strongStore} database ${options.database}${weakStoreText(options)}${deploysWorker(options) ? '' : ', without the example worker'}\n`,
  );
  if (options.plan) {
    for (const line of [
      ...ASSUMED,
      ...(options.valkeyInstance || options.valkeyUrlSecret
        ? [ASSUMED_VALKEY]
        : []),
    ])
      process.stdout.write(`# ${line}\n`);
    await deployWith(options, source, planTools(options));
    return;
  }
  process.stdout.write(
    `${useQuotaProject(options.project, process.env).line}\n`,
  );
  const pubsub = new PubSub({projectId: options.project});
  const scheduler = new CloudSchedulerClient();
  const gcloud = gcloudRunner();
  try {
    await deployWith(options, source, {
      pubsub,
      scheduler,
      run: runCommand,
      gcloud,
      permissions: resourceManagerPermissions(gcloud),
      accountPermissions: serviceAccountPermissions(gcloud),
    });
  } finally {
    await pubsub.close();
    await scheduler.close();
  }
}

async function deployWith(
  options: DeployOptions,
  source: ReturnType<typeof readFunctionsSource>,
  tools: DeployTools,
): Promise<void> {
  const changes = await deploy(
    options,
    source,
    {...tools, say: line => process.stdout.write(`${line}\n`)},
    change =>
      process.stdout.write(`${describeChange(change, options.dryRun)}\n`),
  );
  const changed = changes.filter(
    change => change.action !== 'unchanged',
  ).length;
  process.stdout.write(
    `${options.dryRun ? 'would make' : 'made'} ${changed} calls that change something; ${changes.length - changed} resources already up to date\n`,
  );
}

main().catch((error: unknown) => {
  // `--help`: the usage on stdout, exit 0; parsing comes first, so nothing was called.
  if (error instanceof HelpRequested) {
    process.stdout.write(`${error.usage}\n`);
    return;
  }
  process.stderr.write(
    `deploy ${error instanceof PreflightError ? 'stopped' : 'failed'}: ${(error as Error)?.message ?? String(error)}\n`,
  );
  process.exitCode = error instanceof UsageError ? 2 : 1;
});

function weakStoreText(options: DeployOptions): string {
  if (options.valkeyInstance)
    return `, WEAK locks on Memorystore for Valkey instance ${options.valkeyInstance}`;
  if (options.valkeyUrlSecret)
    return `, WEAK locks on the Valkey in secret ${options.valkeyUrlSecret}`;
  return '';
}
