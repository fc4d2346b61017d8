import {strict as assert} from 'node:assert';
import {inspect} from 'node:util';
import {DEFAULT_FIREBASE_JSON} from '../../infra/firebase-config';
import {HelpRequested} from '../../infra/cli/command-line';
import {
  parseStartOptions,
  START_OPTIONS,
  START_USAGE,
  type StartOptions,
} from '../../infra/local/start-options';
import {assertUsageNamesEveryFlag} from '../support/usage-flags';

type Row =
  | {argv: string[]; env?: NodeJS.ProcessEnv; options: Partial<StartOptions>}
  | {argv: string[]; env?: NodeJS.ProcessEnv; says: RegExp};

/** `npm start`'s input: argv and env in, options or the message it stops with (exit 1) out. */
const rows: Row[] = [
  {
    argv: [],
    options: {
      configPath: DEFAULT_FIREBASE_JSON,
      strongStore: 'datastore',
      weakStore: 'memcached',
      cleanupEverySeconds: undefined,
    },
  },
  {argv: ['--weak-store', 'valkey'], options: {weakStore: 'valkey'}},
  {argv: ['--config=/tmp/f.json'], options: {configPath: '/tmp/f.json'}},
  {argv: ['--strong-store', 'firestore'], options: {strongStore: 'firestore'}},
  {
    argv: [],
    env: {LOCKS_STRONG_STORE: 'firestore'},
    options: {strongStore: 'firestore'},
  },
  {
    argv: [],
    env: {LOCAL_CLEANUP_EVERY_SECONDS: '30'},
    options: {cleanupEverySeconds: 30},
  },
  {
    argv: [],
    env: {LOCAL_CLEANUP_EVERY_SECONDS: '0'},
    options: {cleanupEverySeconds: undefined},
  },

  // Before, an unknown flag or a bad interval was ignored and the stack started without it.
  {
    argv: ['--strong-stor', 'firestore'],
    says: /unknown option "--strong-stor"; usage: npm start/,
  },
  {argv: ['firestore'], says: /unexpected argument "firestore"/},
  {argv: ['--config'], says: /--config needs a value/},
  {
    argv: [],
    env: {LOCAL_CLEANUP_EVERY_SECONDS: 'often'},
    says: /LOCAL_CLEANUP_EVERY_SECONDS must be a whole number >= 0, got "often"/,
  },
  {
    argv: ['--strong-store', 'spanner'],
    says: /--strong-store must be one of datastore, firestore, got "spanner"/,
  },
  {
    argv: ['--weak-store', 'redis'],
    says: /--weak-store must be one of memcached, valkey, got "redis"/,
  },
  {
    argv: ['--strong-store', 'datastore'],
    env: {LOCKS_STRONG_STORE: 'firestore'},
    says: /contradicts LOCKS_STRONG_STORE=firestore/,
  },
];

describe('npm start: parseStartOptions(argv, env)', () => {
  for (const row of rows) {
    const given = `${inspect(row.argv)}${row.env ? ` with ${inspect(row.env)}` : ''}`;
    if ('options' in row) {
      it(`${given} parses`, () => {
        const options = parseStartOptions(row.argv, row.env ?? {});
        for (const [name, value] of Object.entries(row.options))
          assert.deepEqual(options[name as keyof StartOptions], value, name);
      });
    } else {
      it(`${given} is refused: ${row.says.source}`, () => {
        assert.throws(
          () => parseStartOptions(row.argv, row.env ?? {}),
          (error: unknown) =>
            error instanceof Error && row.says.test(error.message),
        );
      });
    }
  }

  for (const argv of [
    ['--help'],
    ['-h'],
    ['--strong-store', 'spanner', '--bogus', '-h'],
  ])
    it(`${inspect(argv)} asks for the usage, whatever else is wrong`, () => {
      assert.throws(
        () => parseStartOptions(argv, {LOCAL_CLEANUP_EVERY_SECONDS: 'often'}),
        (error: unknown) =>
          error instanceof HelpRequested && error.usage === START_USAGE,
      );
    });

  it('the usage names every flag and the environment it reads', () => {
    assertUsageNamesEveryFlag(START_USAGE, Object.keys(START_OPTIONS));
    assert.match(START_USAGE, /^usage: npm start /);
    assert.match(START_USAGE, /LOCKS_STRONG_STORE/);
    assert.match(START_USAGE, /LOCAL_CLEANUP_EVERY_SECONDS/);
  });
});
