import {strict as assert} from 'node:assert';
import {inspect} from 'node:util';
import {HelpRequested} from '../../infra/cli/command-line';
import {BENCH_USAGE, parseBenchArgs} from '../bench/bench-options';
import {
  parseWaitingRoomArgs,
  WAITING_ROOM_USAGE,
} from '../bench/waiting-room-options';
import {
  NEMESIS_USAGE,
  parseArgs as parseNemesisArgs,
} from '../nemesis/nemesis-main';
import {
  parseReliabilityArgs,
  reliabilityUsage,
} from '../reliability/reliability-options';
import {assertUsageNamesEveryFlag} from '../support/usage-flags';

function asksForUsage(parse: () => unknown, usage: string): void {
  assert.throws(
    parse,
    (error: unknown) => error instanceof HelpRequested && error.usage === usage,
  );
}

/** The measurement mains' command lines (bench, waiting room, reliability, nemesis): read before anything starts. */
describe('the measurement command lines', () => {
  describe('npm run bench', () => {
    it('takes no arguments, or --only weak', () => {
      assert.deepEqual(parseBenchArgs([]), {});
      assert.deepEqual(parseBenchArgs(['--only', 'weak']), {only: 'weak'});
      assert.throws(
        () => parseBenchArgs(['--quick']),
        /unexpected argument "--quick": npm run bench takes only --only weak/,
      );
      assert.throws(
        () => parseBenchArgs(['--only']),
        /--only takes one section, weak \(got null\)/,
      );
      assert.throws(
        () => parseBenchArgs(['--only', 'weak', 'x']),
        /unexpected argument "x"/,
      );
    });
    it('answers --help and -h', () => {
      for (const flag of ['--help', '-h'])
        asksForUsage(() => parseBenchArgs(['x', flag]), BENCH_USAGE);
      assertUsageNamesEveryFlag(BENCH_USAGE, ['only']);
    });
  });

  describe('waiting-room-main', () => {
    it('reads --datastore-mode, --native, the bursts and the modes; refuses any other word', () => {
      assert.deepEqual(parseWaitingRoomArgs([]), {
        datastoreMode: false,
        native: false,
        bursts: [],
        modes: [],
      });
      assert.deepEqual(
        parseWaitingRoomArgs(['tenKeys', '--native', 'baseline']),
        {
          datastoreMode: false,
          native: true,
          bursts: ['tenKeys'],
          modes: ['baseline'],
        },
      );
      assert.deepEqual(parseWaitingRoomArgs(['--datastore-mode', 'oneKey']), {
        datastoreMode: true,
        native: false,
        bursts: ['oneKey'],
        modes: [],
      });
      assert.throws(
        () => parseWaitingRoomArgs(['onekey']),
        /unexpected argument "onekey"/,
      );
    });
    it('answers --help and -h; the usage names every word', () => {
      for (const flag of ['--help', '-h'])
        asksForUsage(
          () => parseWaitingRoomArgs(['bogus', flag]),
          WAITING_ROOM_USAGE,
        );
      assertUsageNamesEveryFlag(WAITING_ROOM_USAGE, [
        'datastore-mode',
        'native',
      ]);
      for (const word of ['oneKey', 'tenKeys', 'baseline', 'waitingRoom'])
        assert.match(WAITING_ROOM_USAGE, new RegExp(`\\b${word}\\b`));
    });
  });

  describe('npm run reliability', () => {
    const scenarios = ['Soak, legacy', 'Pub/Sub burst'];
    it('takes words naming scenarios; refuses one naming none, and options', () => {
      assert.deepEqual(parseReliabilityArgs([], scenarios), []);
      assert.deepEqual(parseReliabilityArgs(['SOAK'], scenarios), ['SOAK']);
      assert.throws(
        () => parseReliabilityArgs(['soka'], scenarios),
        /no scenario's name contains "soka"/,
      );
      assert.throws(
        () => parseReliabilityArgs(['--fast'], scenarios),
        /unknown option "--fast"/,
      );
    });
    it('answers --help and -h with the scenarios listed', () => {
      for (const flag of ['--help', '-h'])
        asksForUsage(
          () => parseReliabilityArgs(['soka', flag], scenarios),
          reliabilityUsage(scenarios),
        );
      assertUsageNamesEveryFlag(reliabilityUsage(scenarios), []);
      const lines = reliabilityUsage(scenarios).split('\n');
      for (const name of scenarios)
        assert.ok(lines.includes(`  ${name}`), name);
    });
  });

  describe('npm run nemesis', () => {
    // Every flag parseArgs accepts, with a value it takes.
    const flags: [string, ...string[]][] = [
      ['--seed', '7'],
      ['--duration-s', '10'],
      ['--control-duration-s', '10'],
      ['--workers', '6'],
      ['--lease-ms', '500'],
      ['--handler-duration-s', '10'],
      ['--handler-control-duration-s', '10'],
      ['--instances', '2'],
      ['--report', '/tmp/n.md'],
      ['--no-report'],
    ];
    for (const flag of flags)
      it(`${inspect(flag)} is read and named in the usage`, () => {
        assert.doesNotThrow(() => parseNemesisArgs(flag));
        assertUsageNamesEveryFlag(NEMESIS_USAGE, [flag[0].slice(2)]);
      });
    it('refuses an unknown flag and a --report without a file', () => {
      assert.throws(
        () => parseNemesisArgs(['--fast']),
        /unknown option --fast/,
      );
      assert.throws(
        () => parseNemesisArgs(['--report', '--no-report']),
        /--report needs a file/,
      );
      assert.throws(
        () => parseNemesisArgs(['--report']),
        /--report needs a file/,
      );
    });
    it('answers --help and -h, whatever else is wrong', () => {
      for (const flag of ['--help', '-h'])
        asksForUsage(
          () => parseNemesisArgs(['--workers', '1', flag]),
          NEMESIS_USAGE,
        );
    });
  });
});
