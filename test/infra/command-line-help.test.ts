import {strict as assert} from 'node:assert';
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {COMMANDS, USAGE as CLI_USAGE} from '../../infra/cli/arguments';
import {USAGE as DEPLOY_USAGE} from '../../infra/deploy/deploy-options';
import {START_USAGE} from '../../infra/local/start-options';
import {runToEnd} from '../../infra/spawn-and-wait';
import {BENCH_USAGE} from '../bench/bench-options';
import {WAITING_ROOM_USAGE} from '../bench/waiting-room-options';
import {NEMESIS_USAGE} from '../nemesis/nemesis-main';
import {reliabilityUsage} from '../reliability/reliability-options';
import {SCENARIOS} from '../reliability/scenarios';

const DIST = join(__dirname, '..', '..');

interface CommandLine {
  readonly name: string;
  readonly main: string;
  readonly argv: readonly string[];
  readonly usage: string;
}

/** Each command line, given --help after arguments it would otherwise act on (or refuse). */
const COMMAND_LINES: CommandLine[] = [
  {
    name: 'npm start',
    main: 'infra/local/start.js',
    argv: ['--strong-store', 'firestore'],
    usage: START_USAGE,
  },
  {
    name: 'npm run deploy',
    main: 'infra/deploy/main.js',
    argv: ['--project', 'my-project', '--region', 'europe-west1'],
    usage: DEPLOY_USAGE,
  },
  {name: 'the CLI', main: 'infra/cli/main.js', argv: [], usage: CLI_USAGE},
  ...COMMANDS.map(command => ({
    name: 'the CLI',
    main: 'infra/cli/main.js',
    argv: [command],
    usage: CLI_USAGE,
  })),
  {
    name: 'npm run bench',
    main: 'test/bench/bench-main.js',
    argv: [],
    usage: BENCH_USAGE,
  },
  {
    name: 'waiting-room-main',
    main: 'test/bench/waiting-room-main.js',
    argv: ['--native', 'oneKey'],
    usage: WAITING_ROOM_USAGE,
  },
  {
    name: 'npm run reliability',
    main: 'test/reliability/reliability-main.js',
    argv: ['soak'],
    usage: reliabilityUsage(SCENARIOS.map(scenario => scenario.name)),
  },
  {
    name: 'npm run nemesis',
    main: 'test/nemesis/nemesis-main.js',
    argv: ['--seed', '1'],
    usage: NEMESIS_USAGE,
  },
];

/**
 * Issue 25: every command line answers --help and -h with its usage on stdout and exit 0, and does
 * nothing else. Run as a newcomer would, with no credentials and no emulators: a process that went
 * on would start services (and not exit), or fail on what is missing.
 */
describe('--help on every command line (real processes)', function () {
  this.timeout(30_000);
  const home = mkdtempSync(join(tmpdir(), 'help-home-'));
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    CLOUDSDK_CONFIG: home,
    GCLOUD_BINARY: join(home, 'no-gcloud'),
    METADATA_SERVER_DETECTION: 'none',
  };

  for (const line of COMMAND_LINES)
    for (const flag of ['--help', '-h'])
      it(`${line.name} ${[...line.argv, flag].join(' ')}: the usage on stdout, exit 0`, async () => {
        const run = await runToEnd(
          process.execPath,
          [join(DIST, line.main), ...line.argv, flag],
          {env, cwd: home, timeoutMs: 20_000},
        );
        assert.equal(run.stderr, '', 'nothing on stderr');
        assert.equal(run.stdout, `${line.usage}\n`);
        assert.equal(run.code, 0);
      });
});
