import {parseArgs} from 'node:util';
import {LockKind} from '../../shared/kinds';
import {parseDuration} from './durations';
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

  list                 STRONG locks: identifier, age, lease left, fence, holderId (never a token)
    --prefix P           only identifiers starting with P
    --older-than D       only locks granted at least D ago (500ms, 30s, 10m, 2h)
    --limit N            at most N (default 1000)
  show ID              one lock in full (--kind WEAK: look it up in memcached)
  release ID --force   remove the lock whoever holds it (an operator's forced release; logged)
  cleanup              remove abandoned STRONG locks
    --max-age D          lease-less locks older than D count as abandoned (default LOCKS_CLEANUP_MAX_AGE_MS, else 10m)
  watch                list again every --interval (default 2s) until Ctrl-C

  --json               machine-readable output
  --kind STRONG|WEAK   for show and release (default STRONG)

Environment, as the client libraries read it: GOOGLE_CLOUD_PROJECT, DATASTORE_EMULATOR_HOST,
FIRESTORE_EMULATOR_HOST, MEMCACHE_SERVERS; and LOCKS_STRONG_STORE, LOCKS_DATASTORE_DATABASE, LOCKS_FIRESTORE_DATABASE,
LOCKS_CLEANUP_MAX_AGE_MS as the functions read them.
Exit codes: 0 done, 1 no such lock, 2 bad arguments, 3 configuration, 4 store unreachable, 5 store refused.`;

/** Parses and checks the command line; a CliError (exit 2) names what is wrong. */
export function parseArguments(argv: readonly string[]): CliArguments {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        json: {type: 'boolean', default: false},
        kind: {type: 'string', default: LockKind.STRONG},
        prefix: {type: 'string'},
        'older-than': {type: 'string'},
        'max-age': {type: 'string'},
        force: {type: 'boolean', default: false},
        interval: {type: 'string', default: '2s'},
        limit: {type: 'string'},
        help: {type: 'boolean', short: 'h', default: false},
      },
    });
  } catch (error) {
    throw new CliError(EXIT.usage, `${(error as Error).message}; see --help`);
  }
  const {values, positionals} = parsed;
  const [command, identifier, ...extra] = positionals;
  if (values.help) throw new CliError(EXIT.ok, USAGE);
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
  const kind = String(values.kind).toUpperCase();
  if (kind !== LockKind.STRONG && kind !== LockKind.WEAK)
    throw new CliError(
      EXIT.usage,
      `--kind is STRONG or WEAK, got ${JSON.stringify(values.kind)}`,
    );
  if (
    kind === LockKind.WEAK &&
    (name === 'list' || name === 'watch' || name === 'cleanup')
  ) {
    throw new CliError(
      EXIT.usage,
      `WEAK locks cannot be ${name === 'cleanup' ? 'cleaned up (memcached expires them itself)' : 'listed: memcached cannot enumerate its keys'}; look one up with: show ID --kind WEAK`,
    );
  }
  return {
    command: name,
    identifier,
    json: values.json === true,
    kind: kind as LockKind,
    prefix: values.prefix,
    olderThanMs:
      values['older-than'] === undefined
        ? undefined
        : parseDuration('--older-than', values['older-than']),
    maxAgeMs:
      values['max-age'] === undefined
        ? undefined
        : parseDuration('--max-age', values['max-age']),
    force: values.force === true,
    intervalMs: Math.max(
      200,
      parseDuration('--interval', String(values.interval)),
    ),
    limit:
      values.limit === undefined
        ? undefined
        : positiveInteger('--limit', values.limit),
  };
}

function positiveInteger(option: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new CliError(
      EXIT.usage,
      `${option} takes a whole number >= 1, got ${JSON.stringify(text)}`,
    );
  return value;
}
