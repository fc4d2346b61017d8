import {execFile, spawn, type ChildProcess} from 'node:child_process';
import {join} from 'node:path';

/** The built CLI, as `npx cloud-functions-locking` runs it (package.json "bin"). */
export const CLI_MAIN = join(__dirname, '..', '..', 'infra', 'cli', 'main.js');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI once as a child process with exactly `env` (plus PATH). */
export function runCliProcess(
  args: readonly string[],
  env: Record<string, string | undefined>,
  timeoutMs = 25_000,
): Promise<CliRun> {
  return new Promise(resolve => {
    execFile(
      process.execPath,
      [CLI_MAIN, ...args],
      {env: {PATH: process.env.PATH, ...env}, timeout: timeoutMs},
      (error, stdout, stderr) => {
        const code = error
          ? typeof error.code === 'number'
            ? error.code
            : null
          : 0;
        resolve({code, stdout, stderr});
      },
    );
  });
}

/** Starts the CLI (for `watch`), collecting stdout lines. */
export function spawnCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
): {child: ChildProcess; lines: string[]; exited: Promise<number | null>} {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], {
    env: {PATH: process.env.PATH, ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise<number | null>(resolve =>
    child.on('exit', code => resolve(code)),
  );
  return {child, lines, exited};
}
