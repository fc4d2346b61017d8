/**
 * cloud-functions-locking: distributed locks for Cloud Functions, after djangae.contrib.locking.
 * This entry needs no Google Cloud client: the STRONG store's client loads on the first STRONG
 * lock call, from the package the configuration names (`@google-cloud/datastore` by default).
 * What names a client in its types has its own entry: `cloud-functions-locking/pubsub`
 * (lockedHandler), `/datastore`, `/firestore` and `/memcached` (each store's factory and extras).
 */
import {defaultLocking} from './locking';

export {LockKind, LOCK_KINDS} from './core/kinds';
export type {LockOptions} from './configuration/options';
export {DEFAULT_LOCK_OPTIONS} from './configuration/options';
export {MIN_LEASE_MS} from './validation';
export {Lock} from './core/lock';
export type {FenceOf, LockGuard, LockOptionsOf} from './core/lock';
export type {PeekedLock, PeekedWaiting} from './operations/peek';
export {DEFAULT_LIST_LIMIT} from './operations/list-locks';
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
export type {AcquireLock, Locking} from './locking';
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
export {EVENTS_CHANNEL} from './telemetry/events-channel';
export type {LockEvent, LockEventType} from './telemetry/events-channel';
export {DEFAULT_WAIT_BACKOFF, DEFAULT_RETRY_POLICY} from './core/backoff';
export type {BackoffPolicy, RetryPolicy} from './core/backoff';
export {MAX_IDENTIFIER_BYTES} from './validation';
export {MAX_TOKEN_LENGTH} from './operations/token-release';
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
export {DEFAULT_CLEANUP_MAX_AGE_MS} from './operations/cleanup';

// The module-level API: the default instance's operations, one implementation each.
export const lock = defaultLocking.lock;
export const peek = defaultLocking.peek;
export const forceRelease = defaultLocking.forceRelease;
export const listLocks = defaultLocking.listLocks;
export const cleanupStaleLocks = defaultLocking.cleanupStaleLocks;
export const releaseByToken = defaultLocking.releaseByToken;
export const renewByToken = defaultLocking.renewByToken;
