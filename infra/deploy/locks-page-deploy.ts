import {LOCKS_PAGE_ENABLED_VARIABLE} from '../../functions/locks-page';
import {FUNCTIONS, LOCKS_PAGE, type FunctionSpec} from '../topology';
import {type DeployOptions, deploysWorker} from './deploy-options';

/**
 * The live locks page in a deployment: `--locks-page` deploys locksPage beside the other functions,
 * turned on. Without the switch the deploy neither deploys nor touches it (a page deployed before
 * stays until `gcloud functions delete locksPage`).
 */

/** The functions this deploy deploys, in order: FUNCTIONS (the worker unless left out), then the page when asked for. */
export function deployedFunctions(
  options: DeployOptions,
): readonly FunctionSpec[] {
  const functions = deploysWorker(options)
    ? FUNCTIONS
    : FUNCTIONS.filter(spec => spec.trigger.kind === 'http');
  return options.locksPage ? [...functions, LOCKS_PAGE] : functions;
}

/** The page's own variables: it answers 404 unless it is turned on. */
export function locksPageEnvironment(
  spec: FunctionSpec,
): Record<string, string> {
  return spec.name === LOCKS_PAGE.name
    ? {[LOCKS_PAGE_ENABLED_VARIABLE]: 'true'}
    : {};
}

/** The deploy's own LOCKS_API_TOKEN: the value the functions require (also sent by the Scheduler job). */
export function deployApiToken(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  return env.LOCKS_API_TOKEN || undefined;
}

/**
 * IAM alone lets every principal with run.invoker on the project (an account granted it to call
 * acquireLock, editors, owners) read the page's data: every lock identifier in clear, which can hold
 * user data (telemetry hashes it for that reason), and the live feed. The API token is the page's
 * second gate, so the page is deployed only by a deploy that has it.
 */
export function locksPageProblem(
  options: DeployOptions,
  apiToken: string | undefined,
): string | undefined {
  if (!options.locksPage || apiToken !== undefined) return undefined;
  return "--locks-page needs LOCKS_API_TOKEN in the deploy's environment (the value the functions require): without it the page's lock list and feed are open to anyone who may invoke it";
}
