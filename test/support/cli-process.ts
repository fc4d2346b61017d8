import type {ChildProcess} from 'node:child_process';
import {join} from 'node:path';
import {runToEnd, spawnChild} from '../../infra/spawn-and-wait';

/** The built CLI, as `npx cloud-functions-locking` runs it (package.json "bin"). */
export const CLI_MAIN = join(__dirname, '..', '..', 'infra', 'cli', 'main.js');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI once as a child process with exactly `env` (plus PATH). */
export async function runCliProcess(
  args: readonly string[],
  env: Record<string, string | undefined>,
  timeoutMs = 25_000,
): Promise<CliRun> {
  const {code, stdout, stderr} = await runToEnd(
    process.execPath,
    [CLI_MAIN, ...args],
    {env: {PATH: process.env.PATH, ...env}, timeoutMs},
  );
  return {code, stdout, stderr};
}

/** Starts the CLI (for `watch`), collecting stdout lines. */
export function spawnCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
): {child: ChildProcess; lines: string[]; exited: Promise<number | null>} {
  const lines: string[] = [];
  let partial = '';
  const cli = spawnChild(process.execPath, [CLI_MAIN, ...args], {
    env: {PATH: process.env.PATH, ...env},
    onOutput: (chunk, stream) => {
      if (stream !== 'stdout') return;
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    },
  });
  return {
    child: cli.process,
    lines,
    exited: cli.exited.then(({code}) => code),
  };
}
