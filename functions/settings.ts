import {DEFAULT_CLEANUP_MAX_AGE_MS, type StrongStore} from '../shared';
import {
  envChoice,
  envDatabaseId,
  envValkeyAuth,
  envValkeyCa,
  envValkeyUrl,
  envWholeNumber,
  isInvalidArgument,
  STRONG_STORES,
  valkeyConnection,
} from '../shared/internal';

/** What the functions read from their environment, in one place. */
export interface FunctionSettings {
  /**
   * When set, every HTTP function requires it, in `X-Locks-Api-Token` or as `Authorization: Bearer`
   * (see functions/http/auth.ts).
   */
  readonly apiToken: string | undefined;
  /**
   * The longest an HTTP acquire may wait. Keep it below the function's timeout (60 s as deployed)
   * so no request outlives its function.
   */
  readonly httpMaxWaitMs: number;
  readonly cleanupMaxAgeMs: number;
  /** Larger request bodies are refused with 413, before they are read. */
  readonly maxBodyBytes: number;
  /** Where STRONG locks live: `datastore` (Datastore mode, the default) or `firestore` (Firestore in native mode). */
  readonly strongStore: StrongStore;
  /** The Datastore-mode database of STRONG locks (store `datastore` only). Default: the project's default database. */
  readonly datastoreDatabase: string | undefined;
  /** The native-mode database of STRONG locks (store `firestore` only). Default: the project's default database. */
  readonly firestoreDatabase: string | undefined;
  /**
   * Where WEAK locks live: `valkey` when LOCKS_VALKEY_URL is set (the library reads it, with
   * LOCKS_VALKEY_CA and LOCKS_VALKEY_AUTH, when it builds WEAK locks' client), else `memcached`
   * (MEMCACHE_SERVERS). Checked here so a bad value stops a cold start instead of failing the first WEAK lock.
   */
  readonly weakStore: 'memcached' | 'valkey';
}

export const DEFAULT_HTTP_MAX_WAIT_MS = 30_000;
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/** Every variable readSettings reads. */
export const SETTING_VARIABLES = [
  'LOCKS_API_TOKEN',
  'LOCKS_HTTP_MAX_WAIT_MS',
  'LOCKS_CLEANUP_MAX_AGE_MS',
  'LOCKS_MAX_BODY_BYTES',
  'LOCKS_STRONG_STORE',
  'LOCKS_DATASTORE_DATABASE',
  'LOCKS_FIRESTORE_DATABASE',
  'LOCKS_VALKEY_URL',
  'LOCKS_VALKEY_CA',
  'LOCKS_VALKEY_AUTH',
] as const;

/** Each store's database variable: setting the other store's is refused, since the functions would silently ignore it. */
const DATABASE_VARIABLES: Readonly<
  Record<StrongStore, 'LOCKS_DATASTORE_DATABASE' | 'LOCKS_FIRESTORE_DATABASE'>
> = {
  datastore: 'LOCKS_DATASTORE_DATABASE',
  firestore: 'LOCKS_FIRESTORE_DATABASE',
};

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

/** Parses and validates; throws a SettingsError naming the variable and its value. */
export function readSettings(
  env: NodeJS.ProcessEnv = process.env,
): FunctionSettings {
  try {
    const store = strongStore(env);
    return {
      apiToken: env.LOCKS_API_TOKEN || undefined,
      httpMaxWaitMs: envWholeNumber(
        env,
        'LOCKS_HTTP_MAX_WAIT_MS',
        DEFAULT_HTTP_MAX_WAIT_MS,
      ),
      cleanupMaxAgeMs: envWholeNumber(
        env,
        'LOCKS_CLEANUP_MAX_AGE_MS',
        DEFAULT_CLEANUP_MAX_AGE_MS,
      ),
      maxBodyBytes: envWholeNumber(
        env,
        'LOCKS_MAX_BODY_BYTES',
        DEFAULT_MAX_BODY_BYTES,
      ),
      strongStore: store,
      datastoreDatabase: envDatabaseId(env, 'LOCKS_DATASTORE_DATABASE'),
      firestoreDatabase: envDatabaseId(env, 'LOCKS_FIRESTORE_DATABASE'),
      weakStore: weakStore(env),
    };
  } catch (error) {
    // The rules are the library's; a bad setting is the deployment's fault, told as such.
    if (isInvalidArgument(error)) throw new SettingsError(error.message);
    throw error;
  }
}

/** Valkey when LOCKS_VALKEY_URL is set, its CA and auth mode checked with it; else memcached. */
function weakStore(env: NodeJS.ProcessEnv): 'memcached' | 'valkey' {
  const url = envValkeyUrl(env, 'LOCKS_VALKEY_URL');
  const ca = envValkeyCa(env, 'LOCKS_VALKEY_CA');
  const auth = envValkeyAuth(env, 'LOCKS_VALKEY_AUTH');
  if (url === undefined) {
    const stray =
      ca !== undefined
        ? 'LOCKS_VALKEY_CA'
        : auth === 'iam'
          ? 'LOCKS_VALKEY_AUTH'
          : undefined;
    if (stray)
      throw new SettingsError(
        `${stray} is set but LOCKS_VALKEY_URL is not: WEAK locks would use memcached and ignore it`,
      );
    return 'memcached';
  }
  valkeyConnection(url, ca, auth, {
    url: 'LOCKS_VALKEY_URL',
    ca: 'LOCKS_VALKEY_CA',
    auth: 'LOCKS_VALKEY_AUTH',
  });
  return 'valkey';
}

function strongStore(env: NodeJS.ProcessEnv): StrongStore {
  const raw = env.LOCKS_STRONG_STORE;
  const store = envChoice(
    env,
    'LOCKS_STRONG_STORE',
    STRONG_STORES,
    'datastore',
  );
  const other = STRONG_STORES.find(name => name !== store) as StrongStore;
  const stray = env[DATABASE_VARIABLES[other]];
  if (stray !== undefined && stray !== '') {
    throw new SettingsError(
      `${DATABASE_VARIABLES[other]} must be unset when STRONG locks use the ${store} store (${raw ? `LOCKS_STRONG_STORE=${raw}` : 'LOCKS_STRONG_STORE is unset'}), ` +
        `got ${JSON.stringify(stray)}: it names a database of the ${other} store. Set ${DATABASE_VARIABLES[store]} instead, or LOCKS_STRONG_STORE=${other}`,
    );
  }
  return store;
}

let cached:
  {readonly raw: string; readonly settings: FunctionSettings} | undefined;

/**
 * The settings in force, parsed once. functions/index.ts calls this at cold start, so a bad value
 * stops the instance from loading instead of failing every request. A deployed function's
 * environment never changes while it runs; the raw values are compared anyway (a handful of string
 * reads), so a process that does change them, such as a test, is served what it set.
 */
export function functionSettings(
  env: NodeJS.ProcessEnv = process.env,
): FunctionSettings {
  const raw = JSON.stringify(SETTING_VARIABLES.map(name => env[name] ?? null));
  if (cached?.raw !== raw) cached = {raw, settings: readSettings(env)};
  return cached.settings;
}

/** The library configuration these settings choose: the STRONG store and its database (no client is built). */
export function strongStoreConfig(settings: FunctionSettings): {
  strongStore: StrongStore;
  databaseId?: string;
} {
  const databaseId =
    settings.strongStore === 'firestore'
      ? settings.firestoreDatabase
      : settings.datastoreDatabase;
  return {
    strongStore: settings.strongStore,
    ...(databaseId === undefined ? {} : {databaseId}),
  };
}
