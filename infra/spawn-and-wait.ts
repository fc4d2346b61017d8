import {spawn, type ChildProcess} from 'node:child_process';

/**
 * The one way this repository starts a child process and waits for it: the local stack's services,
 * the CLI and Functions Framework servers the tests run, the workers of the reliability and nemesis
 * runs. Output is always read (a pipe nobody drains would stall the child once it fills).
 */
export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /**
   * Its own process group, so that killGroup reaches what it starts in turn (a wrapper script's JVM,
   * npm's node): the `gcloud` wrapper and `cloud_datastore_emulator` do not pass a kill on.
   */
  readonly group?: boolean;
  /** Each chunk of stdout and stderr, as it arrives. */
  readonly onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** How much of the latest output output() keeps. Default: 8,000 characters. */
  readonly keepOutputChars?: number;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnedChild {
  readonly process: ChildProcess;
  /** Resolves when the process exits (a child it started may still hold its output open). */
  readonly exited: Promise<ExitStatus>;
  /** Resolves once it has exited and all of its output has been read. */
  readonly closed: Promise<ExitStatus>;
  /** Rejects if it could not be started at all (command not found); never resolves otherwise. */
  readonly spawnFailed: Promise<never>;
  /** The latest stdout and stderr, interleaved as they arrived. */
  output(): string;
  /** Signals its whole group when it has one, otherwise the process; quiet if it is gone. */
  kill(signal?: NodeJS.Signals): void;
}

export function spawnChild(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): SpawnedChild {
  const child = spawn(command, [...args], {
    ...(options.env === undefined ? {} : {env: options.env}),
    ...(options.cwd === undefined ? {} : {cwd: options.cwd}),
    detached: options.group ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = options.keepOutputChars ?? 8000;
  let output = '';
  const read = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-keep);
    options.onOutput?.(text, stream);
  };
  child.stdout?.on('data', read('stdout'));
  child.stderr?.on('data', read('stderr'));
  const status = (event: 'exit' | 'close') =>
    new Promise<ExitStatus>(resolve =>
      child.once(event, (code: number | null, signal: NodeJS.Signals | null) =>
        resolve({code, signal}),
      ),
    );
  const spawnFailed = new Promise<never>((_, reject) =>
    child.once('error', reject),
  );
  // Nobody may be listening for a start failure; it still must not be an unhandled rejection.
  spawnFailed.catch(() => {});
  return {
    process: child,
    exited: status('exit'),
    closed: status('close'),
    spawnFailed,
    output: () => output,
    kill: (signal = 'SIGTERM') => {
      if (child.pid === undefined) return;
      try {
        if (options.group) process.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        // Already gone.
      }
    },
  };
}

export interface RunResult extends ExitStatus {
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr interleaved as they arrived. */
  readonly output: string;
}

/**
 * Runs a command to its end and resolves with its exit status and output, whatever the status (the
 * caller decides what a failure is). Past `timeoutMs` it is sent SIGTERM. Rejects only when it
 * cannot be started.
 */
export async function runToEnd(
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, 'onOutput' | 'keepOutputChars'> & {
    readonly timeoutMs?: number;
  } = {},
): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  let output = '';
  const child = spawnChild(command, args, {
    ...options,
    onOutput: (chunk, stream) => {
      if (stream === 'stdout') stdout += chunk;
      else stderr += chunk;
      output += chunk;
    },
  });
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => child.kill('SIGTERM'), options.timeoutMs);
  try {
    const status = await Promise.race([child.closed, child.spawnFailed]);
    return {...status, stdout, stderr, output};
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `probe` every `intervalMs` (default 100) until it answers true; a probe that throws counts
 * as not yet. Once `signal` aborts it stops polling and rejects with the signal's reason.
 */
export async function waitUntil(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  {intervalMs = 100, signal}: {intervalMs?: number; signal?: AbortSignal} = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`${what} was not ready after ${timeoutMs} ms`);
    await new Promise(resolve => setTimeout(resolve, intervalMs));
  }
}

/**
 * Whether `url` answers HTTP within a second: with a 2xx status when `okOnly`, otherwise with any.
 * The body is read, so the connection is not left waiting on it.
 */
export async function answersHttp(
  url: string,
  {okOnly = false}: {readonly okOnly?: boolean} = {},
): Promise<boolean> {
  const response = await fetch(url, {signal: AbortSignal.timeout(1000)});
  await response.arrayBuffer();
  return okOnly ? response.ok : true;
}
