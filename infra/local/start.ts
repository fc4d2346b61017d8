/**
 * `npm start`: the whole system on 127.0.0.1, as deployed, on the emulators. Ports come from the
 * `emulators` section of firebase.json (`--config PATH` to read another file). Ctrl-C stops it all.
 * Both STRONG stores' emulators always run; `--strong-store datastore|firestore` (or
 * LOCKS_STRONG_STORE) picks the one the functions' STRONG locks use. Default: datastore.
 *
 * Environment: LOCAL_CLEANUP_EVERY_SECONDS runs cleanupLocks that often instead of on the deployed
 * schedule (for demos); LOCKS_* settings are passed to the functions as in the cloud.
 */
import type {Server} from 'node:http';
import {
  memcachedInstalled,
  MEMCACHED_BINARY,
  startMemcached,
} from '../memcached';
import {startEmulator} from '../emulators';
import {startValkey, valkeyInstalled} from '../valkey';
import {readLocalStackConfig} from '../firebase-config';
import {readSettings} from '../../functions/settings';
import {assertPortFree} from '../ports';
import type {RunningService} from '../processes';
import {
  CLEANUP_SCHEDULE,
  DEAD_LETTER_TOPIC,
  topicPath,
  WORK_TOPIC,
} from '../topology';
import {clientEnvironment} from './client-environment';
import {createLocalTopology} from './local-pubsub';
import {LOCAL_PROJECT} from './project';
import {readyMessage} from './ready-message';
import {scheduleCleanup, type LocalScheduler} from './scheduler';
import {parseStartOptions} from './start-options';
import {HelpRequested} from '../cli/command-line';

const services: RunningService[] = [];
let server: Server | undefined;
let scheduler: LocalScheduler | undefined;
let stopping = false;

async function main(): Promise<void> {
  const options = parseStartOptions(process.argv.slice(2), process.env);
  const config = readLocalStackConfig(options.configPath);
  const {strongStore} = options;
  // The functions read it as deployed ones do; a bad LOCKS_* value stops the stack now, before anything starts.
  process.env.LOCKS_STRONG_STORE = strongStore;
  readSettings();
  const withMemcached = memcachedInstalled();
  const withValkey = valkeyInstalled();
  if (options.weakStore === 'valkey' && !withValkey)
    throw new Error(
      '--weak-store valkey needs a Valkey-protocol server: install one (Debian/Ubuntu: sudo apt-get install -y redis-server, or valkey-server where the distribution has it; or npm run setup) and run npm start again',
    );
  if (!withMemcached) {
    say(
      `WEAK locks are unavailable: memcached is not installed (${MEMCACHED_BINARY}). Install it (Debian/Ubuntu: sudo apt-get install -y memcached; macOS: brew install memcached) and run npm start again. STRONG locks work.`,
    );
  }
  // Every port is checked before anything starts: a taken one is a clear error, not a half-started stack.
  await assertPortFree(
    config.datastore.port,
    'the Datastore emulator (firebase.json emulators.datastore.port)',
  );
  await assertPortFree(
    config.firestore.port,
    'the Firestore emulator (firebase.json emulators.firestore.port)',
  );
  await assertPortFree(
    config.pubsub.port,
    'the Pub/Sub emulator (firebase.json emulators.pubsub.port)',
  );
  await assertPortFree(
    config.functions.port,
    'the functions (firebase.json emulators.functions.port)',
  );
  if (withMemcached)
    await assertPortFree(
      config.memcached.port,
      'memcached (firebase.json emulators.memcached.port)',
    );

  if (withValkey)
    await assertPortFree(
      config.valkey.port,
      'the Valkey server (firebase.json emulators.valkey.port)',
    );

  const startedAt = Date.now();
  say(
    `starting the Firestore emulators (Datastore mode and native mode), the Pub/Sub emulator${withMemcached ? ', memcached' : ''}${withValkey ? ', a Valkey server' : ''}...`,
  );
  // In parallel: the stack is ready when the slowest JVM is.
  const starting = [
    startEmulator('datastore-firestore', {port: config.datastore.port}),
    startEmulator('firestore-native', {port: config.firestore.port}),
    startEmulator('pubsub', {port: config.pubsub.port}),
    withMemcached
      ? startMemcached({port: config.memcached.port})
      : Promise.resolve(undefined),
    withValkey
      ? startValkey({port: config.valkey.port})
      : Promise.resolve(undefined),
  ].map(promise =>
    promise.then(service => (service && services.push(service), service)),
  );
  const [datastore, firestore, pubsubEmulator, memcached, valkey] =
    await Promise.all(starting);

  const env: Record<string, string> = {
    GOOGLE_CLOUD_PROJECT: LOCAL_PROJECT,
    DATASTORE_EMULATOR_HOST: (datastore as RunningService).host,
    FIRESTORE_EMULATOR_HOST: (firestore as RunningService).host,
    PUBSUB_EMULATOR_HOST: (pubsubEmulator as RunningService).host,
    ...(memcached ? {MEMCACHE_SERVERS: memcached.host} : {}),
    // Only when chosen: with it set, the functions' (and a client's) WEAK locks use Valkey.
    ...(valkey && options.weakStore === 'valkey'
      ? {LOCKS_VALKEY_URL: `redis://${valkey.host}`}
      : {}),
  };
  // The functions and the Google clients read these; set before the functions are loaded.
  Object.assign(process.env, env, {
    METADATA_SERVER_DETECTION: 'none',
    // The live locks page's feed names locks; an operator on their own machine may see identifiers.
    LOCKS_TELEMETRY_RECORD_IDENTIFIERS:
      process.env.LOCKS_TELEMETRY_RECORD_IDENTIFIERS ?? 'true',
    EXAMPLE_DEAD_LETTER_TOPIC:
      process.env.EXAMPLE_DEAD_LETTER_TOPIC ??
      topicPath(LOCAL_PROJECT, DEAD_LETTER_TOPIC),
  });
  if (!memcached) delete process.env.MEMCACHE_SERVERS;

  await import('../../functions/index');
  const {functionsHost} = await import('./functions-host');
  server = functionsHost();
  await new Promise<void>((resolve, reject) => {
    server?.once('error', reject);
    server?.listen(config.functions.port, '127.0.0.1', () => resolve());
  });
  const baseUrl = `http://127.0.0.1:${config.functions.port}`;

  const {PubSub} = await import('@google-cloud/pubsub');
  const pubsub = new PubSub({projectId: LOCAL_PROJECT});
  await createLocalTopology(pubsub, baseUrl, LOCAL_PROJECT);
  await pubsub.close();

  const demoSeconds = options.cleanupEverySeconds ?? 0;
  scheduler =
    demoSeconds > 0
      ? scheduleCleanup(`${baseUrl}/cleanupLocks`, demoSeconds * 1000, false)
      : scheduleCleanup(
          `${baseUrl}/cleanupLocks`,
          CLEANUP_SCHEDULE.everyMinutes * 60_000,
          true,
        );

  process.stdout.write(
    readyMessage({
      baseUrl,
      env: clientEnvironment(env, strongStore, process.env),
      strongStore,
      workTopic: topicPath(LOCAL_PROJECT, WORK_TOPIC),
      cleanup:
        demoSeconds > 0
          ? `every ${demoSeconds} s (LOCAL_CLEANUP_EVERY_SECONDS)`
          : `${CLEANUP_SCHEDULE.cron} UTC, as deployed`,
      startedInMs: Date.now() - startedAt,
    }),
  );
}

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    scheduler?.stop();
    server?.closeAllConnections();
    server?.close();
    await Promise.allSettled(services.map(service => service.stop()));
  }
  // processes.ts kills, on exit, any service still starting when we were stopped.
  process.exit(code);
}

function say(line: string): void {
  process.stdout.write(`[npm start] ${line}\n`);
}

// SIGHUP: the terminal was closed.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    say(`${signal}: stopping every service...`);
    void stop(0);
  });
}

// If whoever started us dies without a signal reaching us (npm killed with SIGKILL), we are
// re-parented: stop rather than leave the emulators running with nobody to stop them.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent && !stopping) {
    say('the parent process is gone: stopping every service...');
    void stop(0);
  }
}, 1000).unref();

main().catch((error: unknown) => {
  // `--help`: the usage on stdout, and nothing was started.
  if (error instanceof HelpRequested) {
    process.stdout.write(`${error.usage}\n`, () => void stop(0));
    return;
  }
  process.stderr.write(
    `[npm start] failed: ${(error as Error)?.message ?? String(error)}\n`,
  );
  void stop(1);
});
