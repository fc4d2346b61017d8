import {backendOption} from './backend-option';
import {
  DEFAULT_RETRY_POLICY,
  DEFAULT_WAIT_BACKOFF,
  type BackoffPolicy,
} from './backoff';
import {LockError} from './errors';
import {typeOf} from './identifier';
import type {
  LockingConfig,
  ResolvedLockingConfig,
  TelemetryConfig,
} from './locking-config';
import {loggerOption} from './logger';
import {durationOption} from './options';
import {
  DEFAULT_ENTITY_KIND,
  DEFAULT_MEMCACHE_KEY_PREFIX,
  DEFAULT_RPC_TIMEOUT_MS,
} from './store-defaults';
import {
  DATABASE_ID,
  isStrongStore,
  STRONG_STORES,
  type StrongStore,
} from './strong-store';

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
  const entityKind = config.entityKind ?? DEFAULT_ENTITY_KIND;
  if (
    typeof entityKind !== 'string' ||
    entityKind.length === 0 ||
    entityKind.startsWith('__')
  ) {
    throw new LockError(
      'INVALID_ARGUMENT',
      'entityKind must be a non-empty string not starting with "__"',
    );
  }
  if (config.namespace !== undefined && typeof config.namespace !== 'string') {
    throw new LockError(
      'INVALID_ARGUMENT',
      `namespace must be a string, got ${typeOf(config.namespace)}`,
    );
  }
  if (config.databaseId !== undefined) {
    if (
      typeof config.databaseId !== 'string' ||
      !DATABASE_ID.test(config.databaseId)
    ) {
      throw new LockError(
        'INVALID_ARGUMENT',
        `databaseId must be a database id (4-63 of a-z, 0-9 and "-", starting with a letter), got ${JSON.stringify(config.databaseId)}`,
      );
    }
    if (config.datastore !== undefined || config.firestore !== undefined) {
      throw new LockError(
        'INVALID_ARGUMENT',
        'databaseId is for the client the library builds; with your own datastore or firestore client, give that client the database',
      );
    }
  }
  const memcacheKeyPrefix =
    config.memcacheKeyPrefix ?? DEFAULT_MEMCACHE_KEY_PREFIX;
  // The key adds 64 hex characters; memcached keys are at most 250 bytes, printable, without spaces.
  if (
    typeof memcacheKeyPrefix !== 'string' ||
    !/^[\x21-\x7e]{0,180}$/.test(memcacheKeyPrefix)
  ) {
    throw new LockError(
      'INVALID_ARGUMENT',
      'memcacheKeyPrefix must be at most 180 printable ASCII characters without spaces',
    );
  }
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
    rpcTimeoutMs: positive(
      'rpcTimeoutMs',
      config.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS,
    ),
    waitBackoff: backoffPolicy('waitBackoff', {
      ...DEFAULT_WAIT_BACKOFF,
      ...config.waitBackoff,
    }),
    retry: {
      ...backoffPolicy('retry', {...DEFAULT_RETRY_POLICY, ...config.retry}),
      maxAttempts: Math.floor(
        positive(
          'retry.maxAttempts',
          config.retry?.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
        ),
      ),
    },
    telemetry: telemetryConfig(config.telemetry),
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
  const recordIdentifiers =
    telemetry?.recordIdentifiers ??
    process.env[RECORD_IDENTIFIERS_VARIABLE] === 'true';
  if (typeof recordIdentifiers !== 'boolean') {
    throw new LockError(
      'INVALID_ARGUMENT',
      `telemetry.recordIdentifiers must be a boolean, got ${typeOf(recordIdentifiers)}`,
    );
  }
  return {recordIdentifiers};
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

function backoffPolicy(name: string, policy: BackoffPolicy): BackoffPolicy {
  const initialMs = positive(`${name}.initialMs`, policy.initialMs);
  const maxMs = positive(`${name}.maxMs`, policy.maxMs);
  const multiplier = durationOption(
    `${name}.multiplier`,
    policy.multiplier,
  ) as number;
  if (multiplier < 1)
    throw new LockError('INVALID_ARGUMENT', `${name}.multiplier must be >= 1`);
  return {initialMs, maxMs: Math.max(initialMs, maxMs), multiplier};
}

function positive(name: string, value: unknown): number {
  const ms = durationOption(name, value) as number;
  if (ms <= 0) throw new LockError('INVALID_ARGUMENT', `${name} must be > 0`);
  return ms;
}
