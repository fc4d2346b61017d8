import type {ChildProcess} from 'node:child_process';
import {spawnChild} from '../../infra/spawn-and-wait';

/**
 * A Node child in its own process group, whose stdout JSON lines are collected. Killed as a group,
 * so nothing it started outlives the run.
 */
export interface NodeChild {
  readonly process: ChildProcess;
  /** Every JSON line printed so far. */
  readonly lines: unknown[];
  /** Resolves with the exit code (or null for a signal), once everything it printed has been read. */
  readonly exited: Promise<number | null>;
  /** Resolves with the first line `matches` accepts. */
  lineWhere<T>(
    matches: (line: unknown) => line is T,
    timeoutMs: number,
  ): Promise<T>;
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
}

const living = new Set<NodeChild>();
process.once('exit', () => {
  for (const child of living) child.kill('SIGKILL');
});

export function startNodeChild(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): NodeChild {
  const lines: unknown[] = [];
  const waiters: (() => void)[] = [];
  let pending = '';
  let errors = '';
  const node = spawnChild(process.execPath, [script, ...args], {
    group: true,
    env,
    onOutput: (chunk, stream) => {
      if (stream === 'stderr') {
        errors = (errors + chunk).slice(-8000);
        return;
      }
      pending += chunk;
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const line of complete) {
        try {
          lines.push(JSON.parse(line));
        } catch {
          // Not one of ours (a library's stray output).
        }
      }
      for (const wake of waiters.splice(0)) wake();
    },
  });
  const child = node.process;
  // closed, not exited: only then has all of its output been read, so no line is missed.
  let closed = false;
  const exited = node.closed.then(({code}) => {
    closed = true;
    for (const wake of waiters.splice(0)) wake();
    return code;
  });
  const handle: NodeChild = {
    process: child,
    lines,
    exited,
    stderr: () => errors,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null)
        node.kill(signal);
    },
    lineWhere: async <T>(
      matches: (line: unknown) => line is T,
      timeoutMs: number,
    ) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find(matches);
        if (found !== undefined) return found;
        if (Date.now() > deadline)
          throw new Error(
            `no expected line from ${script} after ${timeoutMs} ms:\n${errors}`,
          );
        if (closed)
          throw new Error(
            `${script} exited ${child.exitCode ?? child.signalCode}:\n${errors}`,
          );
        await new Promise<void>(resolve => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
  };
  living.add(handle);
  void exited.then(() => living.delete(handle));
  return handle;
}

export function delay(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
