import {spawn, type ChildProcess} from 'node:child_process';

/**
 * A local service (an emulator, memcached) run as a child in its own process group. The `gcloud`
 * wrapper, and even `cloud_datastore_emulator` (a shell script that starts `java` without exec),
 * leave the JVM running when only they are killed, so stopping kills the whole group.
 */
export interface RunningService {
  readonly name: string;
  /** `127.0.0.1:PORT`, the form DATASTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST and MEMCACHE_SERVERS take. */
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface ServiceLaunch {
  readonly name: string;
  readonly port: number;
  readonly command: string;
  readonly args: string[];
  /** Resolves once the service answers; rejects or hangs otherwise (bounded by readyTimeoutMs). */
  readonly probe: () => Promise<boolean>;
  readonly readyTimeoutMs: number;
  readonly cleanup?: () => Promise<void>;
}

const running = new Set<ChildProcess>();

/** Every service started by this process dies with it, even on an uncaught error. */
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

export async function startService(
  launch: ServiceLaunch,
): Promise<RunningService> {
  const child = spawn(launch.command, launch.args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>(resolve =>
    child.once('exit', () => resolve()),
  );
  child.once('exit', () => running.delete(child));
  const spawnFailed = new Promise<never>((_, reject) =>
    child.once('error', error =>
      reject(new Error(`${launch.name} could not start: ${error.message}`)),
    ),
  );

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      // A wrapper script may exit before its JVM: make sure nothing of the group is left.
      killGroup(child, 'SIGKILL');
      await launch.cleanup?.();
    })();
    return stopped;
  };

  try {
    await Promise.race([
      waitUntil(
        launch.probe,
        launch.readyTimeoutMs,
        `${launch.name} on port ${launch.port}`,
      ),
      spawnFailed,
      exited.then(() => {
        throw new Error(
          `${launch.name} exited before it was ready:\n${output}`,
        );
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name: launch.name,
    host: `127.0.0.1:${launch.port}`,
    port: launch.port,
    stop,
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

async function waitUntil(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`${what} was not ready after ${timeoutMs} ms`);
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}
