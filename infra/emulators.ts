import {existsSync} from 'node:fs';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {assertPortFree, freePort, onFreePorts, PORT_TAKEN} from './ports';
import {startService, type RunningService} from './processes';
import {answersHttp, runToEnd} from './spawn-and-wait';

/**
 * Starts the Google Cloud emulators as this project runs them locally and in tests: on 127.0.0.1,
 * from the Cloud SDK's own binaries (never the `gcloud` wrapper, which orphans its JVM).
 */
export type EmulatorName =
  'datastore-legacy' | 'datastore-firestore' | 'firestore-native' | 'pubsub';

export type RunningEmulator = RunningService & {readonly name: EmulatorName};

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

async function launchFor(
  name: EmulatorName,
  port: number,
  sdk: string,
): Promise<Launch> {
  const host = '127.0.0.1';
  switch (name) {
    case 'datastore-legacy': {
      const script = requireFile(
        join(sdk, 'platform/cloud-datastore-emulator/cloud_datastore_emulator'),
        name,
      );
      const dataDir = await mkdtemp(join(tmpdir(), 'datastore-emulator-'));
      await runToCompletion(script, ['create', dataDir]);
      return {
        command: script,
        args: [
          'start',
          `--host=${host}`,
          `--port=${port}`,
          '--store_on_disk=False',
          '--consistency=1.0',
          dataDir,
        ],
        cleanup: () => rm(dataDir, {recursive: true, force: true}),
      };
    }
    case 'datastore-firestore':
      return firestoreLaunch(sdk, name, [
        `--host=${host}`,
        `--port=${port}`,
        '--database-mode=datastore-mode',
      ]);
    case 'firestore-native':
      // The same jar without --database-mode: Firestore in native mode (FIRESTORE_EMULATOR_HOST).
      return firestoreLaunch(sdk, name, [`--host=${host}`, `--port=${port}`]);
    case 'pubsub': {
      const script = requireFile(
        join(sdk, 'platform/pubsub-emulator/bin/cloud-pubsub-emulator'),
        name,
      );
      return {command: script, args: [`--host=${host}`, `--port=${port}`]};
    }
  }
}

/** The Firestore emulator's jar, run by `java` directly (no wrapper script to orphan the JVM). */
function firestoreLaunch(
  sdk: string,
  name: EmulatorName,
  startArgs: string[],
): Launch {
  const jar = requireFile(
    join(sdk, 'platform/cloud-firestore-emulator/cloud-firestore-emulator.jar'),
    name,
  );
  return {
    command: 'java',
    args: [
      '-cp',
      jar,
      'com.google.cloud.datastore.emulator.firestore.CloudFirestore',
      'start',
      ...startArgs,
    ],
  };
}

export async function startEmulator(
  name: EmulatorName,
  options: StartOptions = {},
): Promise<RunningEmulator> {
  // A port the caller named fails at once when taken; one picked here is picked again.
  if (options.port !== undefined)
    return startEmulatorOn(name, options.port, options);
  return onFreePorts(async () =>
    startEmulatorOn(name, await freePort(), options),
  );
}

async function startEmulatorOn(
  name: EmulatorName,
  port: number,
  options: StartOptions,
): Promise<RunningEmulator> {
  await assertPortFree(port, `the ${name} emulator`);
  const launch = await launchFor(name, port, cloudSdkRoot());
  const service = await startService({
    name: `${name} emulator`,
    port,
    ...launch,
    // The emulators answer `GET /` with "Ok" once they serve requests.
    probe: () => answersHttp(`http://127.0.0.1:${port}/`, {okOnly: true}),
    readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    failsWhenOutput: PORT_TAKEN,
  });
  return {...service, name};
}

function requireFile(path: string, name: string): string {
  if (!existsSync(path)) {
    throw new Error(
      `the ${name} emulator is missing: ${path} does not exist. Install the Google Cloud CLI with its emulator ` +
        'components (cloud-datastore-emulator, cloud-firestore-emulator, pubsub-emulator), or set CLOUDSDK_ROOT_DIR.',
    );
  }
  return path;
}

async function runToCompletion(command: string, args: string[]): Promise<void> {
  const {code} = await runToEnd(command, args);
  if (code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${code}`);
}
