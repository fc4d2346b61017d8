import {asksForHelp, HelpRequested} from '../../infra/cli/command-line';

/** The usage, listing the scenarios a word can pick. */
export function reliabilityUsage(scenarios: readonly string[]): string {
  return `usage: npm run reliability [-- WORD...]

The long runs of issue 7 (soak, crashes, outages, bad input, bursts) against emulators, memcached and
Functions Framework servers it starts itself; writes RELIABILITY.md in the current folder (npm runs it
from the repository root) and exits 1 when a scenario lost something or let someone in.
Each WORD runs only the scenarios whose name contains it (case-insensitive); such a partial run does
not write RELIABILITY.md. Takes no options.

  -h, --help   print this and exit

Scenarios:
${scenarios.map(name => `  ${name}`).join('\n')}`;
}

/** The words naming the scenarios to run (empty: all). A word that matches none, or an option, is refused. */
export function parseReliabilityArgs(
  argv: readonly string[],
  scenarios: readonly string[],
): readonly string[] {
  if (asksForHelp(argv)) throw new HelpRequested(reliabilityUsage(scenarios));
  for (const word of argv) {
    if (word.startsWith('-'))
      throw new Error(`unknown option ${JSON.stringify(word)}`);
    if (!scenarios.some(name => matches(name, word)))
      throw new Error(`no scenario's name contains ${JSON.stringify(word)}`);
  }
  return argv;
}

/** Whether `word` picks the scenario `name`. */
export function matches(name: string, word: string): boolean {
  return name.toLowerCase().includes(word.toLowerCase());
}
