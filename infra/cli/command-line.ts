import {parseArgs, type ParseArgsConfig} from 'node:util';

/** What a command line declares: each option a string (takes a value) or a boolean (a switch). */
export type OptionSpecs = Readonly<
  Record<string, {readonly type: 'string' | 'boolean'; readonly short?: string}>
>;

export interface CommandLine {
  /** A string option's value, or `true` for a switch that was given. Absent: not given. */
  readonly values: Readonly<Record<string, string | true>>;
  readonly positionals: readonly string[];
}

/** What is wrong with a command line, in words each CLI words its own way. */
export type CommandLineProblem =
  /** `arg` is an option the command does not have, or a switch given a value (`--dry-run=yes`). */
  | {readonly kind: 'unknown-option'; readonly arg: string}
  /** `option` takes a value, and none followed it. */
  | {readonly kind: 'missing-value'; readonly option: string};

export class CommandLineError extends Error {
  constructor(readonly problem: CommandLineProblem) {
    super(
      problem.kind === 'unknown-option'
        ? `unknown option ${JSON.stringify(problem.arg)}`
        : `${problem.option} needs a value`,
    );
    this.name = 'CommandLineError';
  }
}

/**
 * `node:util` parseArgs, with every problem reported as one CommandLineError naming the argument:
 * parseArgs's own strict errors do not say which argument was wrong in a form a CLI can reword.
 * A value that starts with "-" (`--project --region r`) is taken for a forgotten value, as
 * parseArgs's strict mode does; `--option=-x` passes one on purpose.
 */
export function readCommandLine(
  argv: readonly string[],
  specs: OptionSpecs,
): CommandLine {
  const {tokens} = parseArgs({
    args: [...argv],
    options: specs as ParseArgsConfig['options'],
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | true> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const spec = specs[token.name];
    const written =
      token.inlineValue === true
        ? `${token.rawName}=${token.value}`
        : token.rawName;
    if (spec === undefined || (spec.type === 'boolean' && token.inlineValue))
      throw new CommandLineError({kind: 'unknown-option', arg: written});
    if (spec.type === 'boolean') {
      values[token.name] = true;
      continue;
    }
    if (
      token.value === undefined ||
      (token.inlineValue === false && token.value.startsWith('-'))
    )
      throw new CommandLineError({
        kind: 'missing-value',
        option: token.rawName,
      });
    values[token.name] = token.value;
  }
  return {values, positionals};
}

/**
 * `--help` or `-h` anywhere before a `--`: the command line asks for its usage, and gets it
 * whatever else it holds (a newcomer adds `--help` to the line that just failed).
 */
export function asksForHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/** Thrown by a command line's parser for `--help`: its main prints `usage` on stdout and exits 0, doing nothing else. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super(usage);
    this.name = 'HelpRequested';
  }
}
