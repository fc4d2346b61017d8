import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Starts the Google Cloud emulators as this project runs them locally and in tests: on 127.0.0.1,
 * each in its own process group. The `gcloud` wrapper, and even `cloud_datastore_emulator` (a shell
 * script that starts `java` without exec), leave the JVM running when only they are killed, so
 * stopping kills the whole group.
 */
export type EmulatorName = 'datastore-legacy' | 'datastore-firestore' | 'pubsub';

export interface RunningEmulator {
  readonly name: EmulatorName;
  /** `127.0.0.1:PORT`, the form DATASTORE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST take. */
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Default: a free port. */
  readonly port?: number;
  /** How long to wait for the emulator to answer. Default: 60 s (a cold JVM on a busy machine). */
  readonly readyTimeoutMs?: number;
}

export function cloudSdkRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.CLOUDSDK_ROOT_DIR ?? '/usr/lib/google-cloud-sdk';
}

interface Launch {
  readonly command: string;
  readonly args: string[];
  readonly cleanup?: () => Promise<void>;
}

async function launchFor(name: EmulatorName, port: number, sdk: string): Promise<Launch> {
  const host = '127.0.0.1';
  switch (name) {
    case 'datastore-legacy': {
      const script = requireFile(join(sdk, 'platform/cloud-datastore-emulator/cloud_datastore_emulator'), name);
      const dataDir = await mkdtemp(join(tmpdir(), 'datastore-emulator-'));
      await runToEnd(script, ['create', dataDir]);
      return {
        command: script,
        args: ['start', `--host=${host}`, `--port=${port}`, '--store_on_disk=False', '--consistency=1.0', dataDir],
        cleanup: () => rm(dataDir, { recursive: true, force: true }),
      };
    }
    case 'datastore-firestore': {
      const jar = requireFile(join(sdk, 'platform/cloud-firestore-emulator/cloud-firestore-emulator.jar'), name);
      return {
        command: 'java',
        args: [
          '-cp',
          jar,
          'com.google.cloud.datastore.emulator.firestore.CloudFirestore',
          'start',
          `--host=${host}`,
          `--port=${port}`,
          '--database-mode=datastore-mode',
        ],
      };
    }
    case 'pubsub': {
      const script = requireFile(join(sdk, 'platform/pubsub-emulator/bin/cloud-pubsub-emulator'), name);
      return { command: script, args: [`--host=${host}`, `--port=${port}`] };
    }
  }
}

const running = new Set<ChildProcess>();

export async function startEmulator(name: EmulatorName, options: StartOptions = {}): Promise<RunningEmulator> {
  const port = options.port ?? (await freePort());
  await assertPortFree(port, name);
  const launch = await launchFor(name, port, cloudSdkRoot());
  const child = spawn(launch.command, launch.args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => running.delete(child));
  const spawnFailed = new Promise<never>((_, reject) =>
    child.once('error', (error) => reject(new Error(`${name} emulator could not start: ${error.message}`))),
  );

  const stop = async () => {
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    // The shell wrapper may exit before its JVM: make sure nothing of the group is left.
    killGroup(child, 'SIGKILL');
    await launch.cleanup?.();
  };

  try {
    await Promise.race([
      waitUntilReady(port, options.readyTimeoutMs ?? 60_000),
      spawnFailed,
      exited.then(() => {
        throw new Error(`${name} emulator exited before it was ready:\n${output}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { name, host: `127.0.0.1:${port}`, port, stop };
}

/** Every emulator started by this process dies with it, even on an uncaught error. */
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** The emulators answer `GET /` with "Ok" once they serve requests. */
async function waitUntilReady(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`emulator on port ${port} was not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A taken port is a clear error at once, not an emulator that never becomes ready. */
export function assertPortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', () => reject(new Error(`port ${port} for ${what} is already in use`)));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

function requireFile(path: string, name: string): string {
  if (!existsSync(path)) {
    throw new Error(
      `the ${name} emulator is missing: ${path} does not exist. Install the Google Cloud CLI with its emulator ` +
        `components (cloud-datastore-emulator, cloud-firestore-emulator, pubsub-emulator), or set CLOUDSDK_ROOT_DIR.`,
    );
  }
  return path;
}

function runToEnd(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}`))));
  });
}
