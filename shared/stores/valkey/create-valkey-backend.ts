import {
  DEFAULT_RPC_TIMEOUT_MS,
  DEFAULT_VALKEY_KEY_PREFIX,
  VALKEY_URL_VARIABLE,
} from '../../configuration/store-defaults';
import type {LockLogger} from '../../telemetry/logger';
import {loggerOption} from '../../telemetry/logger';
import {
  memcacheKeyPrefixOption,
  positiveDuration,
  valkeyUrlOption,
} from '../../validation';
import type {ValkeyClient} from './valkey-client';
import type {ValkeyLockBackend} from './valkey-backend';

export interface ValkeyBackendOptions {
  /** Where the client the library builds connects (`redis://` or `rediss://`). Default: LOCKS_VALKEY_URL. Not used with a client of your own. */
  url?: string | undefined;
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
  const url =
    client === undefined
      ? valkeyUrlOption(
          options.url === undefined ? VALKEY_URL_VARIABLE : 'url',
          options.url ?? process.env[VALKEY_URL_VARIABLE],
        )
      : undefined;
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
    ).defaultValkeyClient(url as string, rpcTimeoutMs));
  const calls = new ValkeyCalls(valkey, rpcTimeoutMs);
  let checked = false;
  return new ValkeyLockBackend(calls, keyPrefix, () => {
    if (checked) return;
    checked = true;
    void checkEvictionPolicy(calls, logger);
  });
}
