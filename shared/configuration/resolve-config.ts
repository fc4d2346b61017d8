import {backendOption} from './backend-option';
import {DEFAULT_RETRY_POLICY, DEFAULT_WAIT_BACKOFF} from '../core/backoff';
import {LockError} from '../core/errors';
import {DEFAULT_ONCE_KEY_RETENTION_MS} from '../core/fenced-data';
import type {LockingConfig, TelemetryConfig} from './locking-config';
import type {ResolvedLockingConfig} from './resolved-config';
import {loggerOption} from '../telemetry/logger';
import {
  backoffPolicyOption,
  booleanOption,
  databaseIdOption,
  entityKindOption,
  invalidArgument,
  memcacheKeyPrefixOption,
  namespaceOption,
  positiveDuration,
  typeOf,
  valkeyUrlOption,
  wholeNumberOption,
} from '../validation';
import {envValkeyUrl} from '../validation/env-values';
import {
  DEFAULT_ENTITY_KIND,
  DEFAULT_MEMCACHE_KEY_PREFIX,
  DEFAULT_RPC_TIMEOUT_MS,
  VALKEY_URL_VARIABLE,
} from './store-defaults';
import {isStrongStore, STRONG_STORES, type StrongStore} from './strong-store';

/** A caller's configuration checked, with every default filled in. */
export function resolveLockingConfig(
  config: LockingConfig,
): ResolvedLockingConfig {
  if (config === null || typeof config !== 'object') {
    throw new LockError(
      'INVALID_ARGUMENT',
      `configureLocking takes an object, got ${typeOf(config)}`,
    );
  }
  const strongStore = strongStoreOf(config);
  const entityKind = entityKindOption(
    'entityKind',
    config.entityKind ?? DEFAULT_ENTITY_KIND,
  );
  namespaceOption('namespace', config.namespace);
  databaseIdOption('databaseId', config.databaseId);
  if (
    config.databaseId !== undefined &&
    (config.datastore !== undefined || config.firestore !== undefined)
  ) {
    throw invalidArgument(
      'databaseId is for the client the library builds; with your own datastore or firestore client, give that client the database',
    );
  }
  const memcacheKeyPrefix = memcacheKeyPrefixOption(
    'memcacheKeyPrefix',
    config.memcacheKeyPrefix ?? DEFAULT_MEMCACHE_KEY_PREFIX,
  );
  const valkey = valkeyOf(config);
  return {
    strong: backendOption('strong', config.strong),
    weak: backendOption('weak', config.weak),
    logger: loggerOption(config.logger),
    strongStore,
    datastore: config.datastore,
    firestore: config.firestore,
    databaseId: config.databaseId,
    namespace: config.namespace,
    entityKind,
    memcache: config.memcache,
    memcacheKeyPrefix,
    weakStore: valkey === undefined ? 'memcached' : 'valkey',
    valkey,
    rpcTimeoutMs: positiveDuration(
      'rpcTimeoutMs',
      config.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS,
    ),
    waitBackoff: backoffPolicyOption(
      'waitBackoff',
      config.waitBackoff,
      DEFAULT_WAIT_BACKOFF,
    ),
    retry: {
      ...backoffPolicyOption('retry', config.retry, DEFAULT_RETRY_POLICY, [
        'maxAttempts',
      ]),
      maxAttempts: wholeNumberOption(
        'retry.maxAttempts',
        config.retry?.maxAttempts,
        1,
        DEFAULT_RETRY_POLICY.maxAttempts,
      ),
    },
    telemetry: telemetryConfig(config.telemetry),
    onceKeyRetentionMs: positiveDuration(
      'onceKeyRetentionMs',
      config.onceKeyRetentionMs ?? DEFAULT_ONCE_KEY_RETENTION_MS,
    ),
  };
}

export const RECORD_IDENTIFIERS_VARIABLE = 'LOCKS_TELEMETRY_RECORD_IDENTIFIERS';

function telemetryConfig(
  telemetry: TelemetryConfig | undefined,
): ResolvedLockingConfig['telemetry'] {
  if (
    telemetry !== undefined &&
    (telemetry === null || typeof telemetry !== 'object')
  ) {
    throw new LockError(
      'INVALID_ARGUMENT',
      `telemetry must be an object, got ${typeOf(telemetry)}`,
    );
  }
  const recordIdentifiers = booleanOption(
    'telemetry.recordIdentifiers',
    telemetry?.recordIdentifiers,
    process.env[RECORD_IDENTIFIERS_VARIABLE] === 'true',
  );
  return {recordIdentifiers};
}

/**
 * WEAK locks' Valkey, when they use one: the `valkey` option (a client, or a URL checked here), else
 * LOCKS_VALKEY_URL, read only when nothing else says where WEAK locks live (no `weak` backend, no
 * `memcache` client), so a bad value fails the first configuration that would use it.
 */
function valkeyOf(config: LockingConfig): ResolvedLockingConfig['valkey'] {
  const given = config.valkey;
  if (given !== undefined) {
    if (config.memcache !== undefined)
      throw invalidArgument(
        'memcache and valkey both say where WEAK locks live: give one',
      );
    if (typeof given === 'string') return valkeyUrlOption('valkey', given);
    if (
      given === null ||
      typeof given !== 'object' ||
      typeof (given as {call?: unknown}).call !== 'function'
    )
      throw invalidArgument(
        `valkey must be an iovalkey client or a redis:// URL, got ${typeOf(given)}`,
      );
    return given;
  }
  if (config.weak !== undefined || config.memcache !== undefined)
    return undefined;
  return envValkeyUrl(process.env, VALKEY_URL_VARIABLE);
}

/** The STRONG store asked for, checked against the client given for it. */
function strongStoreOf(config: LockingConfig): StrongStore {
  const store =
    config.strongStore ??
    (config.firestore !== undefined ? 'firestore' : 'datastore');
  if (!isStrongStore(store)) {
    throw new LockError(
      'INVALID_ARGUMENT',
      `strongStore must be one of ${STRONG_STORES.join(', ')}, got ${JSON.stringify(store)}`,
    );
  }
  if (store === 'datastore' && config.firestore !== undefined) {
    throw new LockError(
      'INVALID_ARGUMENT',
      "a firestore client is for strongStore 'firestore'; STRONG locks would not use it",
    );
  }
  if (store === 'firestore' && config.datastore !== undefined) {
    throw new LockError(
      'INVALID_ARGUMENT',
      "a datastore client is for strongStore 'datastore'; STRONG locks would not use it",
    );
  }
  return store;
}
