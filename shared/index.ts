/**
 * cloud-functions-locking: distributed locks for Cloud Functions, after djangae.contrib.locking.
 * Importing this module loads no Google Cloud client; the Datastore client loads on the first
 * STRONG lock call.
 */
export {LockKind, LOCK_KINDS} from './kinds';
export type {LockOptions} from './options';
export {DEFAULT_LOCK_OPTIONS} from './options';
export {MIN_LEASE_MS} from './validation';
export {Lock, lock} from './lock';
export type {FenceOf, LockGuard, LockOptionsOf} from './lock';
export {peek} from './peek';
export type {PeekedLock} from './peek';
export {forceRelease} from './force-release';
export {listLocks, DEFAULT_LIST_LIMIT} from './list-locks';
export type {ListLocksOptions} from './list-locks';
export {LockError, LockAcquisitionError} from './errors';
export type {LockErrorCode} from './errors';
export {configureLocking} from './config';
export type {LockingConfig, TelemetryConfig} from './locking-config';
export type {StrongStore} from './strong-store';
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
} from './backend';
export type {Takeover} from './taking-rules';
export type {LockLogger, LogFields} from './logger';
export {createDatastoreBackend} from './datastore/create-datastore-backend';
export type {DatastoreBackendOptions} from './datastore/create-datastore-backend';
export {createFirestoreBackend} from './firestore/create-firestore-backend';
export type {FirestoreBackendOptions} from './firestore/create-firestore-backend';
export {createMemcachedBackend} from './memcached/create-memcached-backend';
export type {MemcachedBackendOptions} from './memcached/create-memcached-backend';
export {EVENTS_CHANNEL} from './telemetry/events-channel';
export type {LockEvent, LockEventType} from './telemetry/events-channel';
export type {MemcacheClient} from './memcache-client';
export {DEFAULT_WAIT_BACKOFF, DEFAULT_RETRY_POLICY} from './backoff';
export type {BackoffPolicy, RetryPolicy} from './backoff';
export {MAX_IDENTIFIER_BYTES} from './validation';
export {releaseByToken, renewByToken, MAX_TOKEN_LENGTH} from './token-release';
export {fencedUpdate} from './datastore/fenced-update';
export type {FencedUpdateOptions} from './datastore/fenced-update';
export {fencedUpdateDocument} from './firestore/fenced-update-document';
export {
  FENCE_PROPERTY,
  FENCE_RECORD_KIND,
  ONCE_KEY_KIND,
  DEFAULT_ONCE_KEY_RETENTION_MS,
} from './fenced-data';
export type {
  EntityData,
  EntityPath,
  EntityUpdate,
  FencedWriteOptions,
  FencedWriteResult,
} from './fenced-data';
export {cleanupStaleLocks, DEFAULT_CLEANUP_MAX_AGE_MS} from './cleanup';
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
