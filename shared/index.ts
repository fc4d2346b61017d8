/**
 * cloud-functions-locking: distributed locks for Cloud Functions, after djangae.contrib.locking.
 * Importing this module loads no Google Cloud client; the Datastore client loads on the first
 * STRONG lock call.
 */
export {LockKind, LOCK_KINDS} from './core/kinds';
export type {LockOptions} from './configuration/options';
export {DEFAULT_LOCK_OPTIONS} from './configuration/options';
export {MIN_LEASE_MS} from './validation';
export {Lock, lock} from './core/lock';
export type {FenceOf, LockGuard, LockOptionsOf} from './core/lock';
export {peek} from './operations/peek';
export type {PeekedLock} from './operations/peek';
export {forceRelease} from './operations/force-release';
export {listLocks, DEFAULT_LIST_LIMIT} from './operations/list-locks';
export type {ListLocksOptions} from './operations/list-locks';
export {LockError, LockAcquisitionError} from './core/errors';
export type {LockErrorCode} from './core/errors';
export {configureLocking} from './configuration/config';
export type {
  LockingConfig,
  TelemetryConfig,
} from './configuration/locking-config';
export type {StrongStore} from './configuration/strong-store';
export {createLocking} from './locking';
export type {Locking} from './locking';
export type {
  LockBackend,
  AcquireRequest,
  AcquireOutcome,
  ReleaseOutcome,
  RenewRequest,
  RenewOutcome,
  LockRecord,
  LockWatch,
  ListQuery,
  CleanupCriteria,
  FencedWriteRequest,
  FencedWriteOutcome,
  OnceKeyRecord,
} from './core/backend';
export type {Takeover} from './core/taking-rules';
export type {LockLogger, LogFields} from './telemetry/logger';
export {createDatastoreBackend} from './stores/datastore/create-datastore-backend';
export type {DatastoreBackendOptions} from './stores/datastore/create-datastore-backend';
export {createFirestoreBackend} from './stores/firestore/create-firestore-backend';
export type {FirestoreBackendOptions} from './stores/firestore/create-firestore-backend';
export {createMemcachedBackend} from './stores/memcached/create-memcached-backend';
export type {MemcachedBackendOptions} from './stores/memcached/create-memcached-backend';
export {EVENTS_CHANNEL} from './telemetry/events-channel';
export type {LockEvent, LockEventType} from './telemetry/events-channel';
export type {MemcacheClient} from './stores/memcached/memcache-client';
export {DEFAULT_WAIT_BACKOFF, DEFAULT_RETRY_POLICY} from './core/backoff';
export type {BackoffPolicy, RetryPolicy} from './core/backoff';
export {MAX_IDENTIFIER_BYTES} from './validation';
export {
  releaseByToken,
  renewByToken,
  MAX_TOKEN_LENGTH,
} from './operations/token-release';
export {fencedUpdate} from './stores/datastore/fenced-update';
export type {FencedUpdateOptions} from './stores/datastore/fenced-update';
export {fencedUpdateDocument} from './stores/firestore/fenced-update-document';
export {
  FENCE_PROPERTY,
  FENCE_RECORD_KIND,
  ONCE_KEY_KIND,
  DEFAULT_ONCE_KEY_RETENTION_MS,
} from './core/fenced-data';
export type {
  EntityData,
  EntityPath,
  EntityUpdate,
  FencedWriteOptions,
  FencedWriteResult,
} from './core/fenced-data';
export {
  cleanupStaleLocks,
  DEFAULT_CLEANUP_MAX_AGE_MS,
} from './operations/cleanup';
export {
  lockedHandler,
  EarlyDeliveryError,
  LockStillHeldError,
  UnreadableMessageError,
  DEFAULT_REQUEUE_BACKOFF,
  DEFAULT_HANDOFF_LEASE_MS,
  DEFAULT_MAX_QUEUE_LENGTH,
  DEFAULT_MAX_WAIT_MS,
} from './pubsub/locked-handler';
export {PARK_ID_ATTRIBUTE, PARK_SEQ_ATTRIBUTE} from './pubsub/wake-up';
export {DEAD_LETTER_DETAIL_ATTRIBUTE} from './pubsub/unreadable-message';
export type {
  LockedHandlerOptions,
  PubSubCloudEvent,
} from './pubsub/locked-handler';
export {
  ATTEMPT_ATTRIBUTE,
  NOT_BEFORE_ATTRIBUTE,
  ORDERING_KEY_ATTRIBUTE,
  DEAD_LETTER_REASON_ATTRIBUTE,
} from './pubsub/requeue-attributes';
