import {configureLocking, type StrongStore} from '../../shared';
import {
  readSettings,
  SettingsError,
  strongStoreConfig,
} from '../../functions/settings';
import {cloudLoggingLogger} from '../../functions/cloud-logging';
import {CliError, EXIT} from './exit-codes';

/** The variable naming each STRONG store's emulator, as its client library reads it. */
export const STRONG_EMULATOR_VARIABLES = {
  datastore: 'DATASTORE_EMULATOR_HOST',
  firestore: 'FIRESTORE_EMULATOR_HOST',
} as const satisfies Record<StrongStore, string>;

export interface CliEnvironment {
  readonly strongStore: StrongStore;
  /** Where STRONG locks are, for messages: the emulator's host:port, or Google's service. */
  readonly strongTarget: string;
  readonly memcacheServers: string;
  /** Where WEAK locks are: Valkey when LOCKS_VALKEY_URL is set (it can list them), else memcached (it cannot). */
  readonly weakStore: 'memcached' | 'valkey';
  /** Where WEAK locks are, for messages: never the URL itself, which may hold a password. */
  readonly weakTarget: string;
  readonly cleanupMaxAgeMs: number;
  /** The library configuration the LOCKS_* settings choose (the store and its database). */
  readonly locking: ReturnType<typeof strongStoreConfig>;
}

/**
 * The environment, read as the client libraries read it (they read GOOGLE_CLOUD_PROJECT,
 * DATASTORE_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST and MEMCACHE_SERVERS themselves) and the
 * LOCKS_* settings as the deployed functions read them, so the CLI sees the locks the functions
 * take. A bad setting is a CliError with exit 3.
 */
export function readCliEnvironment(env: NodeJS.ProcessEnv): CliEnvironment {
  let settings;
  try {
    settings = readSettings(env);
  } catch (error) {
    if (error instanceof SettingsError)
      throw new CliError(EXIT.configuration, error.message);
    throw error;
  }
  const {strongStore} = settings;
  const variable = STRONG_EMULATOR_VARIABLES[strongStore];
  const emulator = env[variable];
  const memcacheServers = env.MEMCACHE_SERVERS || 'localhost:11211';
  return {
    strongStore,
    strongTarget: emulator
      ? `the emulator at ${emulator} (${variable})`
      : `Google's ${strongStore === 'firestore' ? 'Firestore' : 'Datastore'} service`,
    memcacheServers,
    weakStore: settings.weakStore,
    weakTarget:
      settings.weakStore === 'valkey'
        ? `Valkey at ${valkeyHostOf(env.LOCKS_VALKEY_URL ?? '')} (LOCKS_VALKEY_URL)`
        : `memcached at ${memcacheServers} (MEMCACHE_SERVERS)`,
    cleanupMaxAgeMs: settings.cleanupMaxAgeMs,
    locking: strongStoreConfig(settings),
  };
}

/** The host and port of a Valkey URL already checked by readSettings: its user and password left out. */
function valkeyHostOf(url: string): string {
  return new URL(url).host;
}

/** Points the library at the stores the environment names. */
export function configureFromEnvironment(
  environment: CliEnvironment,
  env: NodeJS.ProcessEnv,
): void {
  // An emulator needs no credentials: skip the client's metadata-server probe, and the warning it prints.
  if (
    (env.DATASTORE_EMULATOR_HOST || env.FIRESTORE_EMULATOR_HOST) &&
    env.METADATA_SERVER_DETECTION === undefined
  )
    env.METADATA_SERVER_DETECTION = 'none';
  // The library's own lines (a forced release says what it removed) as the functions write them.
  configureLocking({...environment.locking, logger: cloudLoggingLogger});
}
