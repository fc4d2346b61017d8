import {asksForHelp, HelpRequested} from '../../infra/cli/command-line';

export const BENCH_USAGE = `usage: npm run bench

Measures this project's locks side by side with the peer (@google-automations/datastore-lock) and the
store's floor, on emulators and memcached it starts itself, and writes BENCHMARKS.md and
benchmarks.json in the current folder (npm runs it from the repository root). Takes no options.

  -h, --help   print this and exit

The waiting-room section alone: node dist/test/bench/waiting-room-main.js --help`;

/** `npm run bench` takes no arguments: an argument is refused rather than ignored by a run this long. */
export function parseBenchArgs(argv: readonly string[]): void {
  if (asksForHelp(argv)) throw new HelpRequested(BENCH_USAGE);
  const [first] = argv;
  if (first !== undefined)
    throw new Error(
      `unexpected argument ${JSON.stringify(first)}: npm run bench takes no options`,
    );
}
