import {HelpRequested} from '../../infra/cli/command-line';

/**
 * A measurement main's command line, parsed before anything starts: `{args}` to run with, or `undefined` when the run must
 * not start, with the usage printed for `--help` (exit 0) or one line naming a bad argument (exit 2).
 * The process then ends by itself: nothing was started.
 */
export function commandLineOrUsage<T>(
  name: string,
  parse: () => T,
): {readonly args: T} | undefined {
  try {
    return {args: parse()};
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(`${error.usage}\n`);
      process.exitCode = 0;
    } else {
      process.stderr.write(
        `[${name}] ${(error as Error)?.message ?? String(error)}; see --help\n`,
      );
      process.exitCode = 2;
    }
    return undefined;
  }
}
