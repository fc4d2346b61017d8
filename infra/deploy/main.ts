/**
 * `npm run deploy -- --project P --region R [--dry-run]` (`--help` lists every flag): creates or updates everything in a Google
 * Cloud project. Needs a logged-in `gcloud` (`gcloud auth login`) and application default
 * credentials for the same user (`gcloud auth application-default login`, used for Pub/Sub and
 * Cloud Scheduler); the dry run reads the project's state too, so it needs them as well.
 */
import {PubSub} from '@google-cloud/pubsub';
import {CloudSchedulerClient} from '@google-cloud/scheduler';
import {describeChange} from '../changes';
import {HelpRequested} from '../cli/command-line';
import {DEFAULT_FIREBASE_JSON, readFunctionsSource} from '../firebase-config';
import {resourceManagerPermissions} from './caller-permissions';
import {deploy, runCommand} from './deploy';
import {parseDeployArgs, UsageError} from './deploy-options';
import {gcloudRunner} from './gcloud-runner';
import {PreflightError} from './preflight';
import {deployableRuntime} from './runtime-schedule';

async function main(): Promise<void> {
  const options = parseDeployArgs(process.argv.slice(2));
  const source = readFunctionsSource(options.config ?? DEFAULT_FIREBASE_JSON);
  const {warning} = deployableRuntime(source.runtime, new Date());
  if (warning) process.stderr.write(`warning: ${warning}\n`);
  const pubsub = new PubSub({projectId: options.project});
  const scheduler = new CloudSchedulerClient();
  const gcloud = gcloudRunner();
  process.stdout.write(
    `${options.dryRun ? 'dry run: nothing is changed; ' : ''}deploying to project ${options.project}, region ${options.region}, runtime ${source.runtime}, STRONG locks on ${options.strongStore} database ${options.database}\n`,
  );
  try {
    const changes = await deploy(
      options,
      source,
      {
        pubsub,
        scheduler,
        run: runCommand,
        gcloud,
        permissions: resourceManagerPermissions(gcloud),
      },
      change =>
        process.stdout.write(`${describeChange(change, options.dryRun)}\n`),
    );
    const changed = changes.filter(
      change => change.action !== 'unchanged',
    ).length;
    process.stdout.write(
      `${options.dryRun ? 'would make' : 'made'} ${changed} calls that change something; ${changes.length - changed} resources already up to date\n`,
    );
  } finally {
    await pubsub.close();
    await scheduler.close();
  }
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
