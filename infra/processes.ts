import {spawnChild, waitUntil, type SpawnedChild} from './spawn-and-wait';

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
  /**
   * Output that means the start has failed though the process lives on: the Pub/Sub and Firestore
   * emulators print a BindException for a taken port and then hang instead of exiting.
   */
  readonly failsWhenOutput?: RegExp;
  readonly cleanup?: () => Promise<void>;
}

const running = new Set<SpawnedChild>();

/** Every service started by this process dies with it, even on an uncaught error. */
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startService(
  launch: ServiceLaunch,
): Promise<RunningService> {
  let sawFailure: (line: string) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    sawFailure = line =>
      reject(
        new Error(
          `${launch.name} could not start on port ${launch.port}: ${line.trim()}`,
        ),
      );
  });
  failed.catch(() => {});
  const child = spawnChild(launch.command, launch.args, {
    group: true,
    keepOutputChars: 4000,
    // Matched against the kept output, not the chunk: a line may arrive in two chunks.
    onOutput: () => {
      const pattern = launch.failsWhenOutput;
      const line = pattern
        ? child
            .output()
            .split('\n')
            .find(text => pattern.test(text))
        : undefined;
      if (line !== undefined) sawFailure(line);
    },
  });
  running.add(child);
  void child.exited.then(() => running.delete(child));

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await child.exited;
      clearTimeout(timer);
      // A wrapper script may exit before its JVM: make sure nothing of the group is left.
      child.kill('SIGKILL');
      await launch.cleanup?.();
    })();
    return stopped;
  };

  // Once the start has failed another way, the probe stops too: nobody waits for it any more.
  const startFailed = new AbortController();
  try {
    await Promise.race([
      waitUntil(
        launch.probe,
        launch.readyTimeoutMs,
        `${launch.name} on port ${launch.port}`,
        {signal: startFailed.signal},
      ).catch((error: Error) => {
        throw new Error(`${error.message}; its output:\n${child.output()}`);
      }),
      failed,
      child.spawnFailed.catch((error: Error) => {
        throw new Error(`${launch.name} could not start: ${error.message}`);
      }),
      child.exited.then(() => {
        throw new Error(
          `${launch.name} exited before it was ready:\n${child.output()}`,
        );
      }),
    ]);
  } catch (error) {
    startFailed.abort(error);
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
