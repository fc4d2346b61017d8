import {asksForHelp, HelpRequested} from '../../infra/cli/command-line';

export const BENCH_USAGE = `usage: npm run bench [-- --only weak]

Measures this project's locks side by side with the peer (@google-automations/datastore-lock) and the
store's floor, on emulators, memcached and a Valkey-protocol server it starts itself, and writes
BENCHMARKS.md and benchmarks.json in the current folder (npm runs it from the repository root).

  --only weak  only the section "WEAK locks: Valkey beside memcached" (starts only memcached and
               the Valkey server; about two minutes): replaces that section in BENCHMARKS.md and
               keeps the rest (benchmarks.json is left alone)
  -h, --help   print this and exit

The waiting-room section alone: node dist/test/bench/waiting-room-main.js --help`;

export interface BenchOptions {
  /** Run one section alone instead of everything. */
  readonly only?: 'weak';
}

/** An argument the bench does not know is refused rather than ignored by a run this long. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  if (asksForHelp(argv)) throw new HelpRequested(BENCH_USAGE);
  const [first, second, ...rest] = argv;
  if (first === undefined) return {};
  if (first !== '--only')
    throw new Error(
      `unexpected argument ${JSON.stringify(first)}: npm run bench takes only --only weak`,
    );
  if (second !== 'weak')
    throw new Error(
      `--only takes one section, weak (got ${JSON.stringify(second ?? null)})`,
    );
  if (rest.length > 0)
    throw new Error(
      `unexpected argument ${JSON.stringify(rest[0])}: npm run bench takes only --only weak`,
    );
  return {only: 'weak'};
}
