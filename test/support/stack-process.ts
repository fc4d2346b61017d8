import {randomUUID} from 'node:crypto';
import {readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {freePort, onFreePorts} from '../../infra/ports';
import {READY_PREFIX} from '../../infra/local/ready-message';
import {spawnChild} from '../../infra/spawn-and-wait';

const REPO = join(__dirname, '../../..');

export interface LocalStack {
  readonly ports: Record<
    'datastore' | 'pubsub' | 'functions' | 'memcached' | 'valkey',
    number
  >;
  readonly baseUrl: string;
  readonly readyLine: string;
  output(): string;
  /** SIGTERM, then whatever of its processes is left (found by its marker) is killed. */
  stop(): Promise<void>;
}

/**
 * `npm start`'s program (from this build, as `npm start --ignore-scripts` runs it) on free ports of a
 * copy of firebase.json, resolved once its ready line is printed. Every process it starts inherits
 * a marker in its environment, so stop() can make sure none is left.
 */
export async function startLocalStack(
  dir: string,
  timeoutMs = 90_000,
  /** npm start's own flags (`--weak-store valkey`) and settings for the functions it hosts. */
  extra: StackExtras = {},
): Promise<LocalStack> {
  // A port picked here can be taken by another listener before npm start binds it: then the stack
  // fails fast naming it, and starts again on other ports.
  return onFreePorts(() => startLocalStackOnce(dir, timeoutMs, extra));
}

interface StackExtras {
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
}

async function startLocalStackOnce(
  dir: string,
  timeoutMs: number,
  extra: StackExtras,
): Promise<LocalStack> {
  const ports = {
    datastore: await freePort(),
    pubsub: await freePort(),
    functions: await freePort(),
    memcached: await freePort(),
    valkey: await freePort(),
  };
  const config = JSON.parse(
    readFileSync(join(REPO, 'firebase.json'), 'utf8'),
  ) as {emulators: Record<string, unknown>};
  for (const [name, port] of Object.entries(ports))
    config.emulators[name] = {host: '127.0.0.1', port};
  const configPath = join(dir, `firebase-${randomUUID()}.json`);
  writeFileSync(configPath, JSON.stringify(config));
  const marker = `LOCKS_PAGE_TEST_RUN=${randomUUID()}`;
  const [markerName, markerValue] = marker.split('=') as [string, string];
  let output = '';
  let sawReady: (line: string) => void = () => {};
  const stack = spawnChild(
    process.execPath,
    [
      join(REPO, 'dist/infra/local/start.js'),
      `--config=${configPath}`,
      ...(extra.args ?? []),
    ],
    {
      cwd: REPO,
      group: true,
      env: {...process.env, ...extra.env, [markerName]: markerValue},
      onOutput: chunk => {
        output += chunk;
        const line = output
          .split('\n')
          .find(candidate => candidate.startsWith(READY_PREFIX));
        if (line) sawReady(line);
      },
    },
  );
  const child = stack.process;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null)
      child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      stack.exited,
      new Promise(resolve => (timer = setTimeout(resolve, 15_000))),
    ]);
    clearTimeout(timer);
    for (const pid of processesWithMarker(marker)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  };
  const readyLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `npm start was not ready after ${timeoutMs} ms:\n${output}`,
          ),
        ),
      timeoutMs,
    );
    sawReady = line => {
      clearTimeout(timer);
      resolve(line);
    };
    void stack.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`npm start exited:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return {
    ports,
    baseUrl: `http://127.0.0.1:${ports.functions}`,
    readyLine,
    output: () => output,
    stop,
  };
}

/** Processes whose environment carries the marker (children inherit it, through npm, sh and the JVM scripts). */
export function processesWithMarker(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (
        readFileSync(`/proc/${entry}/environ`)
          .toString()
          .split('\0')
          .includes(marker)
      )
        pids.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}
