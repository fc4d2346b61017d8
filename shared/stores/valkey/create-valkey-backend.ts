import {
  DEFAULT_RPC_TIMEOUT_MS,
  DEFAULT_VALKEY_KEY_PREFIX,
  VALKEY_AUTH_VARIABLE,
  VALKEY_CA_VARIABLE,
  VALKEY_URL_VARIABLE,
} from '../../configuration/store-defaults';
import type {LockLogger} from '../../telemetry/logger';
import {loggerOption} from '../../telemetry/logger';
import {
  memcacheKeyPrefixOption,
  positiveDuration,
  valkeyUrlOption,
} from '../../validation';
import {envValkeyAuth, valkeyAuthOption} from '../../validation/valkey-auth';
import {envValkeyCa, valkeyCaOption} from '../../validation/valkey-ca';
import {
  valkeyConnection,
  type ValkeyConnectionSettings,
} from '../../validation/valkey-connection';
import {connectionErrorReporter} from './connection-errors';
import type {ValkeyClient} from './valkey-client';
import type {ValkeyLockBackend} from './valkey-backend';

export interface ValkeyBackendOptions {
  /** Where the client the library builds connects (`redis://` or `rediss://`). Default: LOCKS_VALKEY_URL. Not used with a client of your own. */
  url?: string | undefined;
  /**
   * The server CA bundle (PEM text) a `rediss://` URL's server is checked against, such as a
   * Memorystore instance's. Default: LOCKS_VALKEY_CA, else the system's CAs. Not used with a client of your own.
   */
  ca?: string | undefined;
  /**
   * `password`: what the URL carries, if anything. `iam`: an OAuth access token of the runtime's
   * account (Memorystore IAM auth; needs `google-auth-library`), renewed before it expires.
   * Default: LOCKS_VALKEY_AUTH, else `password`. Not used with a client of your own.
   */
  auth?: 'password' | 'iam' | undefined;
  /** Prefix of the locks' keys (before the `{lk:...}` hash tag). Default: `lock:`. */
  keyPrefix?: string | undefined;
  /** Deadline of each store call. Default: 5,000 ms. */
  rpcTimeoutMs?: number | undefined;
  /** Where the eviction policy warning goes. Default: nowhere. */
  logger?: LockLogger | undefined;
}

/**
 * WEAK locks on Valkey (Memorystore for Valkey, or any Valkey or Redis 7 server), for
 * `createLocking({weak})`, through an iovalkey `Redis`. Without one, builds one for `url` (default
 * LOCKS_VALKEY_URL), loading iovalkey only now; it connects on its first call. The first call also
 * reads the server's `maxmemory-policy` and warns when it can evict locks.
 */
export async function createValkeyBackend(
  client?: ValkeyClient,
  options: ValkeyBackendOptions = {},
): Promise<ValkeyLockBackend> {
  const rpcTimeoutMs = positiveDuration(
    'rpcTimeoutMs',
    options.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS,
  );
  const keyPrefix = memcacheKeyPrefixOption(
    'keyPrefix',
    options.keyPrefix ?? DEFAULT_VALKEY_KEY_PREFIX,
  );
  const logger = loggerOption(options.logger);
  const connection = client === undefined ? connectionOf(options) : undefined;
  const [{ValkeyCalls}, {ValkeyLockBackend}, {checkEvictionPolicy}] =
    await Promise.all([
      import('./valkey-calls'),
      import('./valkey-backend'),
      import('./eviction-policy'),
    ]);
  const valkey =
    client ??
    (await (
      await import('./default-client')
    ).defaultValkeyClient(
      connection as ValkeyConnectionSettings,
      rpcTimeoutMs,
      connectionErrorReporter(logger, {
        ca: VALKEY_CA_VARIABLE,
        auth: VALKEY_AUTH_VARIABLE,
      }),
    ));
  const calls = new ValkeyCalls(valkey, rpcTimeoutMs);
  let checked = false;
  return new ValkeyLockBackend(calls, keyPrefix, () => {
    if (checked) return;
    checked = true;
    void checkEvictionPolicy(calls, logger);
  });
}

/** The URL, CA and auth mode, each from its option or else its variable, read now and checked together. */
function connectionOf(options: ValkeyBackendOptions): ValkeyConnectionSettings {
  const names = {
    url: options.url === undefined ? VALKEY_URL_VARIABLE : 'url',
    ca: options.ca === undefined ? VALKEY_CA_VARIABLE : 'ca',
    auth: options.auth === undefined ? VALKEY_AUTH_VARIABLE : 'auth',
  };
  const url = valkeyUrlOption(
    names.url,
    options.url ?? process.env[VALKEY_URL_VARIABLE],
  );
  const ca =
    options.ca === undefined
      ? envValkeyCa(process.env, VALKEY_CA_VARIABLE)
      : valkeyCaOption('ca', options.ca);
  const auth =
    options.auth === undefined
      ? envValkeyAuth(process.env, VALKEY_AUTH_VARIABLE)
      : valkeyAuthOption('auth', options.auth);
  return valkeyConnection(url, ca, auth, names);
}
