import {spawnChild} from '../spawn-and-wait';

/**
 * What the deploy retries, and for how long. Some failures on a fresh project are not errors but
 * IAM catching up: each rule names one, how to recognise it in gcloud's output, and a bounded list
 * of waits. Anything else fails at once. Every retry is said on the output, with its reason.
 */
export interface RetryRule {
  /** Said before each wait: why waiting may help. */
  readonly reason: string;
  readonly matches: RegExp;
  /** One wait per retry; when they run out, the failure stands. */
  readonly delaysMs: readonly number[];
}

const MINUTE = 60_000;

/**
 * "Permission denied while using the Eventarc Service Agent ... may take a few minutes"
 * (terraform-provider-google#25294): the agent's role propagates minutes after the API is enabled.
 * Retried for up to 5 minutes 45 seconds of waits.
 */
export const EVENTARC_AGENT: RetryRule = {
  reason: "the Eventarc service agent's permissions are still propagating",
  matches: /Eventarc Service Agent/i,
  delaysMs: [15_000, 30_000, MINUTE, MINUTE, MINUTE, MINUTE, MINUTE],
};

/**
 * A grant made moments before (the build account's roles before the first build, the Pub/Sub
 * agent's) that IAM does not enforce yet. Up to 90 seconds: long enough for propagation that is
 * on its way, short enough that a grant that is really missing fails soon.
 */
export const FRESH_GRANT: RetryRule = {
  reason: 'a role granted moments ago has not propagated yet',
  matches:
    /PERMISSION_DENIED|Permission denied|does not have permission|is not authorized|caller does not have/i,
  delaysMs: [10_000, 20_000, 30_000, 30_000],
};

/** A grant to an account created a moment before, or to a service agent just made: IAM may not see it yet. About a minute. */
export const NEW_IDENTITY: RetryRule = {
  reason: 'IAM does not see an account or service agent made moments ago yet',
  matches:
    /does not exist|NOT_FOUND|INVALID_ARGUMENT|PERMISSION_DENIED|Permission denied/i,
  delaysMs: [5_000, 10_000, 20_000, 30_000],
};

/** The longest a command can be retried under these rules, for the docs and the tests. */
export function retryBudgetMs(rules: readonly RetryRule[]): number {
  return rules.reduce(
    (sum, rule) => sum + rule.delaysMs.reduce((a, b) => a + b, 0),
    0,
  );
}

/**
 * Which rules a command line gets. `newIdentities`: the accounts created by this deploy and the
 * service agents just made; a grant to one of them gets NEW_IDENTITY.
 */
export function retryRulesFor(
  args: readonly string[],
  newIdentities: ReadonlySet<string>,
): RetryRule[] {
  if (args[0] === 'functions' && args[1] === 'deploy')
    return [EVENTARC_AGENT, FRESH_GRANT];
  const member = args
    .find(arg => arg.startsWith('--member=serviceAccount:'))
    ?.slice('--member=serviceAccount:'.length);
  if (
    member !== undefined &&
    (newIdentities.has(member) || /@gcp-sa-[a-z]+\./.test(member))
  )
    return [NEW_IDENTITY];
  return [];
}

/** A command that exited non-zero; `output` is its latest output, which the retry rules read. */
export class CommandFailedError extends Error {
  override readonly name = 'CommandFailedError';
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly code: number | null,
    readonly output: string,
  ) {
    super(`${command} ${args.join(' ')} exited ${code}`);
  }
}

/**
 * Runs `attempt` until it succeeds, a failure matches no rule, or the matching rule's waits run
 * out (each rule counts its own retries). `say` is told before each wait.
 */
export async function withRetries(
  what: string,
  rules: readonly RetryRule[],
  attempt: () => Promise<void>,
  sleep: (ms: number) => Promise<void>,
  say: (line: string) => void,
): Promise<void> {
  const used = new Map<RetryRule, number>();
  for (;;) {
    try {
      await attempt();
      return;
    } catch (error) {
      const text =
        error instanceof CommandFailedError
          ? error.output
          : String((error as Error)?.message ?? error);
      const rule = rules.find(candidate => candidate.matches.test(text));
      if (!rule) throw error;
      const retry = used.get(rule) ?? 0;
      const delay = rule.delaysMs[retry];
      if (delay === undefined) {
        say(
          `${what}: still failing after ${retry} retries over ${Math.round(retryBudgetMs([rule]) / 1000)} s (${rule.reason}); giving up`,
        );
        throw error;
      }
      used.set(rule, retry + 1);
      say(
        `${what}: ${rule.reason}; retrying in ${delay / 1000} s (retry ${retry + 1} of ${rule.delaysMs.length})`,
      );
      await sleep(delay);
    }
  }
}

/** The real runner: output goes to the terminal as it comes, and the latest of it into the error when it fails. */
export async function runCommand(
  command: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<void> {
  const child = spawnChild(command, args, {
    cwd,
    env: {...process.env, ...env},
    keepOutputChars: 16_000,
    onOutput: (chunk, stream) =>
      (stream === 'stdout' ? process.stdout : process.stderr).write(chunk),
  });
  const {code} = await Promise.race([child.closed, child.spawnFailed]);
  if (code !== 0)
    throw new CommandFailedError(command, args, code, child.output());
}
