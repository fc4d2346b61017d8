import {strict as assert} from 'node:assert';
import {inspect} from 'node:util';
import {
  CLI_OPTIONS,
  COMMANDS,
  parseCliOptions,
  USAGE,
  type CliArguments,
} from '../../infra/cli/arguments';
import {assertUsageNamesEveryFlag} from '../support/usage-flags';
import {CliError, EXIT, type ExitCode} from '../../infra/cli/exit-codes';

const DEFAULTS: CliArguments = {
  command: 'list',
  identifier: undefined,
  json: false,
  kind: 'STRONG' as CliArguments['kind'],
  prefix: undefined,
  olderThanMs: undefined,
  maxAgeMs: undefined,
  force: false,
  intervalMs: 2000,
  limit: undefined,
};

type Row =
  | {argv: string[]; env?: NodeJS.ProcessEnv; args: Partial<CliArguments>}
  | {argv: string[]; env?: NodeJS.ProcessEnv; exit: ExitCode; says: RegExp};

/** `cloud-functions-locking`'s whole input: argv and env in, options or the exit code and message out. */
const rows: Row[] = [
  {argv: ['list'], args: {}},
  {
    argv: [
      'list',
      '--prefix',
      'job/',
      '--older-than=10m',
      '--limit',
      '5',
      '--json',
    ],
    args: {prefix: 'job/', olderThanMs: 600_000, limit: 5, json: true},
  },
  {
    argv: ['show', 'a b', '--kind', 'weak'],
    args: {
      command: 'show',
      identifier: 'a b',
      kind: 'WEAK' as CliArguments['kind'],
    },
  },
  {
    argv: ['release', 'x', '--force'],
    args: {command: 'release', identifier: 'x', force: true},
  },
  {
    argv: ['cleanup', '--max-age', '1.5h'],
    args: {command: 'cleanup', maxAgeMs: 5_400_000},
  },
  // watch lists at most every 200 ms.
  {
    argv: ['watch', '--interval', '50ms'],
    args: {command: 'watch', intervalMs: 200},
  },
  {
    argv: ['watch', '--interval', '5s'],
    args: {command: 'watch', intervalMs: 5000},
  },
  // An identifier that looks like an option, after `--`.
  {
    argv: ['show', '--', '--odd-name'],
    args: {command: 'show', identifier: '--odd-name'},
  },

  {argv: ['--help'], exit: EXIT.ok, says: /^usage: cloud-functions-locking/},
  {
    argv: ['-h', 'list'],
    exit: EXIT.ok,
    says: /^usage: cloud-functions-locking/,
  },
  // Every command answers --help and -h, before anything else is checked (show needs no identifier).
  ...COMMANDS.flatMap(command =>
    ['--help', '-h'].map(flag => ({
      argv: [command, flag],
      exit: EXIT.ok,
      says: /^usage: cloud-functions-locking/,
    })),
  ),
  {
    argv: ['list', '--frob', '--kind', 'MEDIUM', '--help'],
    env: {LOCKS_STRONG_STORE: 'spanner'},
    exit: EXIT.ok,
    says: /^usage: cloud-functions-locking/,
  },
  // After `--`, "--help" is an identifier.
  {
    argv: ['show', '--', '--help'],
    args: {command: 'show', identifier: '--help'},
  },
  {argv: [], exit: EXIT.usage, says: /a command is needed: one of list, show/},
  {argv: ['lsit'], exit: EXIT.usage, says: /unknown command "lsit"/},
  {
    argv: ['list', '--frob'],
    exit: EXIT.usage,
    says: /^Unknown option '--frob'; see --help$/,
  },
  {argv: ['list', '-x'], exit: EXIT.usage, says: /^Unknown option '-x'/},
  {
    argv: ['list', '--json=yes'],
    exit: EXIT.usage,
    says: /^Unknown option '--json=yes'/,
  },
  {
    argv: ['list', '--prefix'],
    exit: EXIT.usage,
    says: /^--prefix needs a value; see --help$/,
  },
  {
    argv: ['list', '--limit', '--json'],
    exit: EXIT.usage,
    says: /^--limit needs a value/,
  },
  {
    argv: ['list', '--limit', '0'],
    exit: EXIT.usage,
    says: /--limit takes a whole number >= 1, got "0"/,
  },
  {
    argv: ['list', '--limit', '1e2'],
    exit: EXIT.usage,
    says: /--limit takes a whole number >= 1, got "1e2"/,
  },
  {
    argv: ['list', '--older-than', 'soon'],
    exit: EXIT.usage,
    says: /--older-than takes a duration such as 500ms/,
  },
  // Beyond the longest duration the library takes: named here, not as the library's olderThanMs.
  {
    argv: ['list', '--older-than', '99999999d'],
    exit: EXIT.usage,
    says: /--older-than takes a duration .*got "99999999d"/,
  },
  {argv: ['show'], exit: EXIT.usage, says: /show needs the lock's identifier/},
  {
    argv: ['list', 'extra'],
    exit: EXIT.usage,
    says: /unexpected argument "extra" after list/,
  },
  {
    argv: ['show', 'a', 'b'],
    exit: EXIT.usage,
    says: /unexpected argument "b" after show/,
  },
  {
    argv: ['show', 'a', '--kind', 'MEDIUM'],
    exit: EXIT.usage,
    says: /--kind is STRONG or WEAK, got "MEDIUM"/,
  },
  {
    argv: ['list', '--kind', 'WEAK'],
    exit: EXIT.usage,
    says: /WEAK locks cannot be listed/,
  },
  {
    argv: ['cleanup', '--kind', 'WEAK'],
    exit: EXIT.usage,
    says: /WEAK locks cannot be cleaned up/,
  },
  {
    argv: ['watch', '--kind', 'WEAK'],
    exit: EXIT.usage,
    says: /WEAK locks cannot be watched: memcached cannot enumerate its keys \(Valkey can/,
  },
  {
    argv: ['cleanup', '--kind', 'WEAK'],
    env: {LOCKS_VALKEY_URL: 'redis://127.0.0.1:6379'},
    exit: EXIT.usage,
    says: /WEAK locks need no cleanup: Valkey expires/,
  },

  // The environment, read as the functions read it; a bad argument is reported before it.
  {
    argv: ['list'],
    env: {LOCKS_STRONG_STORE: 'spanner'},
    exit: EXIT.configuration,
    says: /LOCKS_STRONG_STORE must be one of datastore, firestore/,
  },
  {
    argv: ['list'],
    env: {LOCKS_CLEANUP_MAX_AGE_MS: 'ten'},
    exit: EXIT.configuration,
    says: /LOCKS_CLEANUP_MAX_AGE_MS must be a whole number >= 0, got "ten"/,
  },
  {
    argv: ['list'],
    env: {LOCKS_DATASTORE_DATABASE: 'Locks'},
    exit: EXIT.configuration,
    says: /LOCKS_DATASTORE_DATABASE must be a database id/,
  },
  {
    argv: ['lsit'],
    env: {LOCKS_STRONG_STORE: 'spanner'},
    exit: EXIT.usage,
    says: /unknown command/,
  },
];

describe('cli: parseCliOptions(argv, env)', () => {
  for (const row of rows) {
    const given = `${inspect(row.argv)}${row.env ? ` with ${inspect(row.env)}` : ''}`;
    if ('args' in row) {
      it(`${given} parses`, () => {
        const {args} = parseCliOptions(row.argv, row.env ?? {});
        assert.deepEqual(args, {...DEFAULTS, ...row.args});
      });
    } else {
      it(`${given} exits ${row.exit}: ${row.says.source}`, () => {
        assert.throws(
          () => parseCliOptions(row.argv, row.env ?? {}),
          (error: unknown) =>
            error instanceof CliError &&
            error.exitCode === row.exit &&
            row.says.test(error.message),
        );
      });
    }
  }

  it('reads the environment: the STRONG store, where it is, the cleanup age', () => {
    const {environment} = parseCliOptions(['list'], {
      LOCKS_STRONG_STORE: 'firestore',
      LOCKS_FIRESTORE_DATABASE: 'locks',
      FIRESTORE_EMULATOR_HOST: '127.0.0.1:8082',
      LOCKS_CLEANUP_MAX_AGE_MS: '60000',
    });
    assert.deepEqual(environment, {
      strongStore: 'firestore',
      strongTarget: 'the emulator at 127.0.0.1:8082 (FIRESTORE_EMULATOR_HOST)',
      memcacheServers: 'localhost:11211',
      weakStore: 'memcached',
      weakTarget: 'memcached at localhost:11211 (MEMCACHE_SERVERS)',
      cleanupMaxAgeMs: 60_000,
      locking: {strongStore: 'firestore', databaseId: 'locks'},
    });
    assert.ok(USAGE.includes('Exit codes'));
  });

  it('with LOCKS_VALKEY_URL, WEAK locks can be listed; messages name its host, never its password', () => {
    const {args, environment} = parseCliOptions(['list', '--kind', 'WEAK'], {
      LOCKS_VALKEY_URL: 'redis://:secret@10.0.0.3:6379',
    });
    assert.equal(args.kind, 'WEAK');
    assert.equal(environment.weakStore, 'valkey');
    assert.equal(
      environment.weakTarget,
      'Valkey at 10.0.0.3:6379 (LOCKS_VALKEY_URL)',
    );
  });

  it('the usage names every flag and every command', () => {
    assertUsageNamesEveryFlag(USAGE, Object.keys(CLI_OPTIONS));
    for (const command of COMMANDS)
      assert.match(USAGE, new RegExp(`^  ${command}\\b`, 'm'));
  });
});
