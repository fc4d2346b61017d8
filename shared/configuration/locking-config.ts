import type {LockBackend} from '../core/backend';
import type {BackoffPolicy, RetryPolicy} from '../core/backoff';
import type {LockLogger} from '../telemetry/logger';
import type {MemcacheClient} from '../stores/memcached/memcache-client';
import type {ValkeyClient} from '../stores/valkey/valkey-client';
import type {StrongStore} from './strong-store';

/**
 * Everything is optional: with nothing configured, clients are built from the environment. The
 * store clients' own fields (`datastore`, `firestore`) come with their entries,
 * `cloud-functions-locking/datastore` and `/firestore`, so this entry names no Google client.
 */
export interface LockingConfig {
  /**
   * STRONG locks' backend, such as `createDatastoreBackend(datastore, {...})` (a backend or a promise
   * of one). Given one, the options below that build STRONG locks' backend (datastore, firestore,
   * strongStore, databaseId, namespace, entityKind) are not used. Default: built from them.
   */
  strong?: LockBackend | Promise<LockBackend> | undefined;
  /** WEAK locks' backend, such as `createMemcachedBackend(client, {...})` or `createValkeyBackend(client, {...})`. Default: built from valkey, or from memcache and memcacheKeyPrefix. */
  weak?: LockBackend | Promise<LockBackend> | undefined;
  /** Where the library logs what it did on its own (lockedHandler, forceRelease). Default: nowhere. */
  logger?: LockLogger | undefined;
  /**
   * STRONG locks' store: `datastore` (Cloud Datastore / Firestore in Datastore mode) or `firestore`
   * (Firestore in native mode). Default: `firestore` when a `firestore` client is given, else `datastore`.
   */
  strongStore?: StrongStore | undefined;
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
  /**
   * WEAK locks on Valkey (or Redis 7) instead of memcached: an iovalkey `Redis`, or a `redis://` /
   * `rediss://` URL for the client the library builds. Default: LOCKS_VALKEY_URL when it is set
   * (and no `memcache` client is given), else memcached.
   */
  valkey?: ValkeyClient | string | undefined;
  /** Prefix of WEAK locks' memcached keys. Default: `lock:`. */
  memcacheKeyPrefix?: string | undefined;
  /** Deadline of each store call. Default: 5,000 ms. */
  rpcTimeoutMs?: number | undefined;
  /** How waiters poll a held lock. Default: DEFAULT_WAIT_BACKOFF. */
  waitBackoff?: Partial<BackoffPolicy> | undefined;
  /** How failed store calls are retried. Default: DEFAULT_RETRY_POLICY. */
  retry?: Partial<RetryPolicy> | undefined;
  /** OpenTelemetry spans and lock events (see docs/operating.md, "Metrics and traces (OpenTelemetry)"). */
  telemetry?: TelemetryConfig | undefined;
  /**
   * How long a fenced write's once-key is remembered (a second write with it applies nothing);
   * cleanup removes it after. Default: 7 days (DEFAULT_ONCE_KEY_RETENTION_MS), as long as Pub/Sub
   * may redeliver a message.
   */
  onceKeyRetentionMs?: number | undefined;
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
