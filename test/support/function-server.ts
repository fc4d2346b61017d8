import type {ChildProcess} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {spawnChild} from '../../infra/spawn-and-wait';

/** The repository root, seen from dist/test/support. */
export const REPO = join(__dirname, '../../..');

/**
 * One function served by the real `functions-framework` CLI from the built repo, as one Cloud
 * Functions instance: its own process group (stop it with `process.kill(-pid)`), configured by
 * `env` on top of ours. `output` collects its log lines (or is called with each) when given; otherwise they are dropped.
 * `source` is the module to load (a test fixture's file); the repo's `main` by default.
 */
export function startFunctionServer(
  target: string,
  port: number,
  env: Record<string, string | undefined>,
  output?: string[] | ((line: string) => void),
  source = REPO,
): ChildProcess {
  return spawnChild(
    process.execPath,
    [
      join(
        REPO,
        'node_modules/@google-cloud/functions-framework/build/src/main.js',
      ),
      `--target=${target}`,
      `--source=${source}`,
      `--port=${port}`,
    ],
    {
      cwd: REPO,
      group: true,
      env: {...process.env, NODE_ENV: 'production', ...env},
      onOutput: chunk => {
        const lines = chunk.split('\n').filter(Boolean);
        if (typeof output === 'function') lines.forEach(output);
        else output?.push(...lines);
      },
    },
  ).process;
}

/** Resident memory of a process, in bytes (Linux). */
export function residentBytes(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  )?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}
