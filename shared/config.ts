import type {Datastore} from '@google-cloud/datastore';
import type {Firestore} from '@google-cloud/firestore';
import type {LockBackend} from './backend';
import {
  DEFAULT_RETRY_POLICY,
  DEFAULT_WAIT_BACKOFF,
  type BackoffPolicy,
  type RetryPolicy,
} from './backoff';
import {LockError} from './errors';
import {typeOf} from './identifier';
import {LockKind} from './kinds';
import {LocalWaitQueue} from './local-queue';
import type {MemcacheClient} from './memcache-client';
import {durationOption} from './options';
import {DEFAULT_ENTITY_KIND} from './datastore/lock-entity';
import {DEFAULT_MEMCACHE_KEY_PREFIX} from './memcached/lock-value';

/** Everything is optional: with nothing configured, clients are built from the environment. */
export interface LockingConfig {
  /** STRONG locks' client. Default: `new Datastore()`, which reads GOOGLE_CLOUD_PROJECT, DATASTORE_EMULATOR_HOST, ... */
  datastore?: Datastore | undefined;
  /**
   * STRONG locks' store: `datastore` (Cloud Datastore / Firestore in Datastore mode) or `firestore`
   * (Firestore in native mode). Default: `firestore` when a `firestore` client is given, else `datastore`.
   */
  strongStore?: StrongStore | undefined;
  /**
   * STRONG locks' client on Firestore in native mode, such as `new Firestore()` (which reads
   * GOOGLE_CLOUD_PROJECT, FIRESTORE_EMULATOR_HOST, ...). Giving one selects that store.
   */
  firestore?: Firestore | undefined;
  /**
   * The Datastore-mode database of the client the library builds (not used with `datastore`: give
   * your own client its database). Default: the project's default database. A Firebase project's
   * default database is usually Firestore in native mode, which the Datastore API cannot use.
   * With `strongStore: 'firestore'`, the native-mode database of the Firestore client the library builds.
   */
  databaseId?: string | undefined;
  /** Datastore namespace for lock entities (on Firestore: locks go under `namespaces/{namespace}/`). Default: the client's namespace, else the default one. */
  namespace?: string | undefined;
  /** Entity kind of lock entities (on Firestore: the locks' collection). Default: `DatastoreLock` (djangae's name). */
  entityKind?: string | undefined;
  /** WEAK locks' client, such as a memjs `Client`. Default: `memjs.Client.create()`, which reads MEMCACHE_SERVERS (default localhost:11211). */
  memcache?: MemcacheClient | undefined;
  /** Prefix of WEAK locks' memcached keys. Default: `lock:`. */
  memcacheKeyPrefix?: string | undefined;
  /** Deadline of each store call. Default: 5,000 ms. */
  rpcTimeoutMs?: number | undefined;
  /** How waiters poll a held lock. Default: DEFAULT_WAIT_BACKOFF. */
  waitBackoff?: Partial<BackoffPolicy> | undefined;
  /** How failed store calls are retried. Default: DEFAULT_RETRY_POLICY. */
  retry?: Partial<RetryPolicy> | undefined;
  /** OpenTelemetry spans and lock events (see README "Operating it"). */
  telemetry?: TelemetryConfig | undefined;
}

export interface TelemetryConfig {
  /**
   * Put identifiers on spans and events. Default: `false` (unless the environment sets
   * LOCKS_TELEMETRY_RECORD_IDENTIFIERS=true, as `npm start` does for its live page), and a SHA-256
   * of the identifier goes there instead, because identifiers can hold user data. Metrics never
   * carry either.
   */
  recordIdentifiers?: boolean;
}

export type StrongStore = 'datastore' | 'firestore';
export const STRONG_STORES: readonly StrongStore[] = ['datastore', 'firestore'];

export function isStrongStore(value: unknown): value is StrongStore {
  return (STRONG_STORES as readonly unknown[]).includes(value);
}

export interface ResolvedLockingConfig {
  readonly strongStore: StrongStore;
  readonly datastore: Datastore | undefined;
  readonly firestore: Firestore | undefined;
  readonly databaseId: string | undefined;
  readonly namespace: string | undefined;
  readonly entityKind: string;
  readonly memcache: MemcacheClient | undefined;
  readonly memcacheKeyPrefix: string;
  readonly rpcTimeoutMs: number;
  readonly waitBackoff: BackoffPolicy;
  readonly retry: RetryPolicy;
  readonly telemetry: {readonly recordIdentifiers: boolean};
}

export const DEFAULT_RPC_TIMEOUT_MS = 5000;

/** Google's rule for a named database's id. */
export const DATABASE_ID = /^[a-z][a-z0-9-]{2,61}[a-z0-9]$/;

/**
 * The configuration in force plus what it lazily builds: one backend per kind, and the in-process
 * wait queue. A Lock keeps the runtime it was acquired with, so reconfiguring never sends a
 * release to a different store.
 */
export class LockRuntime {
  readonly queue = new LocalWaitQueue();
  private readonly backends = new Map<LockKind, Promise<LockBackend>>();

  constructor(readonly config: ResolvedLockingConfig) {}

  backend(kind: LockKind): Promise<LockBackend> {
    let backend = this.backends.get(kind);
    if (!backend) {
      backend = this.createBackend(kind);
      this.backends.set(kind, backend);
      backend.catch(() => this.backends.delete(kind));
    }
    return backend;
  }

  private async createBackend(kind: LockKind): Promise<LockBackend> {
    switch (kind) {
      case LockKind.STRONG:
        return this.config.strongStore === 'firestore'
          ? createFirestoreBackend(this.config)
          : createDatastoreBackend(this.config);
      case LockKind.WEAK:
        return createMemcachedBackend(this.config);
    }
  }
}

/** Loaded on first use, so a cold start that never takes a STRONG lock never loads the Datastore client. */
async function createDatastoreBackend(
  config: ResolvedLockingConfig,
): Promise<LockBackend> {
  const [{DatastoreRpc}, {DatastoreLockBackend}] = await Promise.all([
    import('./datastore/datastore-rpc'),
    import('./datastore/datastore-backend'),
  ]);
  const datastore =
    config.datastore ??
    new (await import('@google-cloud/datastore')).Datastore(
      config.databaseId === undefined ? {} : {databaseId: config.databaseId},
    );
  return new DatastoreLockBackend(
    new DatastoreRpc(datastore, config.rpcTimeoutMs),
    {
      entityKind: config.entityKind,
      namespace: config.namespace ?? datastore.namespace,
    },
  );
}

/** Loaded on first use, like the Datastore client: a process that takes no STRONG lock never loads Firestore. */
async function createFirestoreBackend(
  config: ResolvedLockingConfig,
): Promise<LockBackend> {
  const [{FirestoreCalls}, {FirestoreLockBackend}, firestoreModule] =
    await Promise.all([
      import('./firestore/firestore-calls'),
      import('./firestore/firestore-backend'),
      import('@google-cloud/firestore'),
    ]);
  const firestore =
    config.firestore ??
    new firestoreModule.Firestore(
      config.databaseId === undefined ? {} : {databaseId: config.databaseId},
    );
  return new FirestoreLockBackend(
    new FirestoreCalls(firestore, config.rpcTimeoutMs),
    {
      collection: config.entityKind,
      namespace: config.namespace,
      deleteField: firestoreModule.FieldValue.delete(),
      timestamp: (seconds, nanoseconds) =>
        new firestoreModule.Timestamp(seconds, nanoseconds),
    },
  );
}

/** Loaded on first use, like the Datastore client: only WEAK locks connect to memcached, and only when used. */
async function createMemcachedBackend(
  config: ResolvedLockingConfig,
): Promise<LockBackend> {
  const [{MemcacheOps}, {MemcachedLockBackend}] = await Promise.all([
    import('./memcached/memcache-ops'),
    import('./memcached/memcached-backend'),
  ]);
  const client =
    config.memcache ??
    (await import('memjs')).Client.create(undefined, {
      logger: {log: () => undefined},
    });
  return new MemcachedLockBackend(
    new MemcacheOps(client, config.rpcTimeoutMs),
    config.memcacheKeyPrefix,
  );
}

let current: LockRuntime | undefined;

/** Replaces the configuration for locks acquired from now on. `configureLocking()` restores the defaults. */
export function configureLocking(config: LockingConfig = {}): void {
  current = new LockRuntime(resolveLockingConfig(config));
}

export function currentRuntime(): LockRuntime {
  current ??= new LockRuntime(resolveLockingConfig({}));
  return current;
}

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
