import {spawn, type ChildProcess} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {REPO} from './worker-server';

/**
 * One function served by the real `functions-framework` CLI from the built repo, as one Cloud
 * Functions instance: its own process group (stop it with `process.kill(-pid)`), configured by
 * `env` on top of ours. `output` collects its log lines when given.
 */
export function startFunctionServer(
  target: string,
  port: number,
  env: Record<string, string | undefined>,
  output?: string[],
): ChildProcess {
  const server = spawn(
    process.execPath,
    [
      join(
        REPO,
        'node_modules/@google-cloud/functions-framework/build/src/main.js',
      ),
      `--target=${target}`,
      `--source=${REPO}`,
      `--port=${port}`,
    ],
    {
      cwd: REPO,
      detached: true,
      env: {...process.env, NODE_ENV: 'production', ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const collect = (chunk: Buffer) =>
    output?.push(...chunk.toString().split('\n').filter(Boolean));
  server.stdout?.on('data', collect);
  server.stderr?.on('data', collect);
  return server;
}

/** Resident memory of a process, in bytes (Linux). */
export function residentBytes(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  )?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}
