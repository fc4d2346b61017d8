import {LockKind} from '../../shared';
import {
  DURATION_TEXT_RULE,
  isLockKind,
  parseDurationText,
} from '../../shared/internal';
import {asksForHelp, CommandLineError, readCommandLine} from './command-line';
import {readCliEnvironment, type CliEnvironment} from './environment';
import {CliError, EXIT} from './exit-codes';

export const COMMANDS = [
  'list',
  'show',
  'release',
  'cleanup',
  'watch',
] as const;
export type CommandName = (typeof COMMANDS)[number];

export interface CliArguments {
  readonly command: CommandName;
  readonly identifier: string | undefined;
  readonly json: boolean;
  readonly kind: LockKind;
  readonly prefix: string | undefined;
  readonly olderThanMs: number | undefined;
  readonly maxAgeMs: number | undefined;
  readonly force: boolean;
  readonly intervalMs: number;
  readonly limit: number | undefined;
}

export const USAGE = `usage: cloud-functions-locking <command> [options]

  list                 STRONG locks: identifier, age, lease left, fence, holderId (never a token),
                         queue depth and oldest wait; --kind WEAK: WEAK locks on Valkey (identifier,
                         age, lease left, holderId; memcached cannot list them)
    --prefix P           only identifiers starting with P
    --older-than D       only locks granted at least D ago (500ms, 30s, 10m, 2h)
    --limit N            at most N (default 1000)
  show ID              one lock in full, and the messages lockedHandler parked on it
                         (--limit N of them, default 20; --kind WEAK: look it up in Valkey or memcached)
  release ID --force   remove the lock whoever holds it (an operator's forced release; logged)
  cleanup              remove abandoned STRONG locks (WEAK ones expire by themselves: no --kind WEAK)
    --max-age D          lease-less locks older than D count as abandoned (default LOCKS_CLEANUP_MAX_AGE_MS, else 10m)
  watch                list again every --interval (default 2s) until Ctrl-C

  --json               machine-readable output
  --kind STRONG|WEAK   for show and release, and list and watch with Valkey (default STRONG)
  -h, --help           print this and exit (also after a command: list --help)

Environment, as the client libraries read it: GOOGLE_CLOUD_PROJECT, DATASTORE_EMULATOR_HOST,
FIRESTORE_EMULATOR_HOST, MEMCACHE_SERVERS; and LOCKS_VALKEY_URL, LOCKS_STRONG_STORE, LOCKS_DATASTORE_DATABASE, LOCKS_FIRESTORE_DATABASE,
LOCKS_CLEANUP_MAX_AGE_MS as the functions read them. Credentials: none with an emulator; else
Application Default Credentials (gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS).
Exit codes: 0 done, 1 no such lock, 2 bad arguments, 3 configuration, 4 store unreachable, 5 store refused.`;

/** Every flag the CLI takes. */
export const CLI_OPTIONS = {
  json: {type: 'boolean'},
  kind: {type: 'string'},
  prefix: {type: 'string'},
  'older-than': {type: 'string'},
  'max-age': {type: 'string'},
  force: {type: 'boolean'},
  interval: {type: 'string'},
  limit: {type: 'string'},
  help: {type: 'boolean', short: 'h'},
} as const;

/** `watch` lists at most this often, whatever --interval says. */
const MIN_INTERVAL_MS = 200;

/** The command line and the environment the CLI runs with, parsed and checked. */
export interface CliOptions {
  readonly args: CliArguments;
  readonly environment: CliEnvironment;
}

/**
 * The CLI's whole input, from its two sources, given as parameters: the command line first (a
 * CliError, exit 2, names a bad argument; `--help` is a CliError with exit 0 and the usage), then
 * the environment (exit 3 names a bad setting).
 */
export function parseCliOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): CliOptions {
  const args = parseArguments(argv);
  const environment = readCliEnvironment(env);
  refuseWhatTheWeakStoreCannot(args, environment);
  return {args, environment};
}

/**
 * Valkey can enumerate its keys (SCAN); memcached cannot, so there WEAK locks are looked up one
 * at a time. Neither needs a cleanup: both stores expire every lock that has a lease or a steal
 * time, and a lock with neither is held until released on purpose, which a maximum age must not
 * second-guess (`release ID --kind WEAK --force` removes one an operator judges abandoned).
 */
function refuseWhatTheWeakStoreCannot(
  args: CliArguments,
  environment: CliEnvironment,
): void {
  if (args.kind !== LockKind.WEAK) return;
  if (args.command === 'cleanup')
    throw new CliError(
      EXIT.usage,
      environment.weakStore === 'valkey'
        ? 'WEAK locks need no cleanup: Valkey expires every lock with a lease or a steal time itself, and one with neither is held until released; find it with list --kind WEAK, remove it with release ID --kind WEAK --force'
        : 'WEAK locks cannot be cleaned up (memcached expires them itself); look one up with: show ID --kind WEAK',
    );
  if (
    environment.weakStore === 'memcached' &&
    (args.command === 'list' || args.command === 'watch')
  )
    throw new CliError(
      EXIT.usage,
      `WEAK locks cannot be ${args.command === 'list' ? 'listed' : 'watched'}: memcached cannot enumerate its keys (Valkey can: set LOCKS_VALKEY_URL); look one up with: show ID --kind WEAK`,
    );
}

function parseArguments(argv: readonly string[]): CliArguments {
  // Before anything else is checked: `show --help` needs no identifier, `--bogus --help` gets help.
  if (asksForHelp(argv)) throw new CliError(EXIT.ok, USAGE);
  let line;
  try {
    line = readCommandLine(argv, CLI_OPTIONS);
  } catch (error) {
    if (!(error instanceof CommandLineError)) throw error;
    const {problem} = error;
    throw new CliError(
      EXIT.usage,
      problem.kind === 'unknown-option'
        ? `Unknown option '${problem.arg}'; see --help`
        : `${problem.option} needs a value; see --help`,
    );
  }
  const {values, positionals} = line;
  const text = (name: keyof typeof CLI_OPTIONS): string | undefined =>
    values[name] as string | undefined;
  const [command, identifier, ...extra] = positionals;
  if (command === undefined)
    throw new CliError(
      EXIT.usage,
      `a command is needed: one of ${COMMANDS.join(', ')}; see --help`,
    );
  if (!(COMMANDS as readonly string[]).includes(command))
    throw new CliError(
      EXIT.usage,
      `unknown command ${JSON.stringify(command)}: use one of ${COMMANDS.join(', ')}`,
    );
  const name = command as CommandName;
  const takesIdentifier = name === 'show' || name === 'release';
  if (takesIdentifier && identifier === undefined)
    throw new CliError(
      EXIT.usage,
      `${name} needs the lock's identifier: cloud-functions-locking ${name} ID`,
    );
  if ((!takesIdentifier && identifier !== undefined) || extra.length > 0) {
    throw new CliError(
      EXIT.usage,
      `unexpected argument ${JSON.stringify(takesIdentifier ? extra[0] : identifier)} after ${name}`,
    );
  }
  const givenKind = text('kind') ?? LockKind.STRONG;
  const kind = givenKind.toUpperCase();
  if (!isLockKind(kind))
    throw new CliError(
      EXIT.usage,
      `--kind is STRONG or WEAK, got ${JSON.stringify(givenKind)}`,
    );
  const olderThan = text('older-than');
  const maxAge = text('max-age');
  const limit = text('limit');
  return {
    command: name,
    identifier,
    json: values.json === true,
    kind,
    prefix: text('prefix'),
    olderThanMs:
      olderThan === undefined ? undefined : duration('--older-than', olderThan),
    maxAgeMs: maxAge === undefined ? undefined : duration('--max-age', maxAge),
    force: values.force === true,
    intervalMs: Math.max(
      MIN_INTERVAL_MS,
      duration('--interval', text('interval') ?? '2s'),
    ),
    limit: limit === undefined ? undefined : positiveInteger('--limit', limit),
  };
}

function duration(option: string, text: string): number {
  const ms = parseDurationText(text);
  if (ms === undefined)
    throw new CliError(
      EXIT.usage,
      `${option} takes ${DURATION_TEXT_RULE}, got ${JSON.stringify(text)}`,
    );
  return ms;
}

function positiveInteger(option: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1)
    throw new CliError(
      EXIT.usage,
      `${option} takes a whole number >= 1, got ${JSON.stringify(text)}`,
    );
  return value;
}
