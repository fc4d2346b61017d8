import {type DeployOptions, deploysWorker} from './deploy-options';
import {readFailed, type GcloudRunner} from './gcloud-runner';

/**
 * The oldest gcloud the deploy accepts: 528, the version whose own argument check passes every
 * command line the deploy makes (test/infra/gcloud-commands.test.ts); older ones were never checked.
 */
export const MIN_GCLOUD = '528.0.0';
/**
 * Direct VPC egress on `gcloud functions deploy` (`--network`, `--subnet`): Google's page
 * "Configure Direct VPC egress for 2nd gen functions" asks for 545.0.0 in one revision and 558.0.0
 * in a later one; the later, stricter one is required.
 */
export const MIN_GCLOUD_DIRECT_VPC = '558.0.0';

export function versionCommand(): string[] {
  return ['version', '--format=json'];
}

/** gcloud's version, its beta component (`beta services identity create`), as the deploy needs them. */
export async function gcloudProblems(
  gcloud: GcloudRunner,
  options: DeployOptions,
): Promise<string[]> {
  const args = versionCommand();
  const result = await gcloud(args);
  if (result.code !== 0)
    return [readFailed("gcloud's version", args, result).message];
  let components: Record<string, unknown>;
  try {
    components = JSON.parse(result.stdout) as Record<string, unknown>;
  } catch {
    return [
      `gcloud version printed no JSON: ${JSON.stringify(result.stdout.slice(0, 200))}`,
    ];
  }
  const version = String(components['Google Cloud SDK'] ?? '');
  const directVpc = (options.network ?? options.subnet) !== undefined;
  const needed = directVpc ? MIN_GCLOUD_DIRECT_VPC : MIN_GCLOUD;
  const problems: string[] = [];
  if (compareVersions(version, needed) < 0)
    problems.push(
      `gcloud ${version || '(unknown version)'} is older than ${needed}${directVpc ? ' (Direct VPC egress: --network/--subnet)' : ''}: run \`gcloud components update\``,
    );
  if (deploysWorker(options) && components.beta === undefined)
    problems.push(
      "gcloud's beta component is missing (the deploy creates the Eventarc and Pub/Sub service agents with `gcloud beta services identity create`): run `gcloud components install beta`",
    );
  return problems;
}

/** Dotted numeric versions; a missing or non-numeric part counts as 0. */
export function compareVersions(a: string, b: string): number {
  const parts = (text: string) =>
    text.split('.').map(part => Number.parseInt(part, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const diff = (x[i] ?? 0) - (y[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}
