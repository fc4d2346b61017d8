/**
 * Every span, metric and attribute name this library emits, under one prefix: `locking.`.
 * Durations are milliseconds (unit `ms`); counters count events (units `{acquisition}`, ...).
 */
export const INSTRUMENTATION_SCOPE = 'cloud-functions-locking';

export const SPANS = {
  acquire: 'locking.acquire',
  release: 'locking.release',
  renew: 'locking.renew',
  cleanup: 'locking.cleanup',
  handlerRun: 'locking.handler.run',
  handlerRequeue: 'locking.handler.requeue',
} as const;

export const METRICS = {
  /** Histogram, ms: how long each acquire took, its waiting included, by kind and outcome. */
  acquireWait: 'locking.acquire.wait',
  /** Counter: acquires by outcome (acquired, stolen, lease_expired, held, error). */
  acquisitions: 'locking.acquisitions',
  /** Counter: releases by outcome (released, not_holder, error). */
  releases: 'locking.releases',
  /** Counter: renewals by outcome (renewed, not_holder, error). */
  renewals: 'locking.renewals',
  /** Counter: holders that learnt their lock was no longer theirs (LOCK_LOST). */
  lost: 'locking.lost',
  /** Counter: locks removed by cleanup. */
  cleanupDeleted: 'locking.cleanup.deleted',
  /** Counter: lockedHandler messages re-published to the retry topic because the lock was held. */
  requeues: 'locking.handler.requeues',
  /** Counter: lockedHandler messages sent to the dead-letter topic after maxAttempts. */
  deadLetters: 'locking.handler.dead_letters',
} as const;

export const ATTRIBUTES = {
  kind: 'locking.kind',
  outcome: 'locking.outcome',
  /** Only with `configureLocking({ telemetry: { recordIdentifiers: true } })`: identifiers can hold user data. */
  identifier: 'locking.identifier',
  /** SHA-256 of the identifier, hex: the same as the lock's Datastore key name and Firestore document id. */
  identifierHash: 'locking.identifier_hash',
  fence: 'locking.fence',
  holderId: 'locking.holder_id',
  waitedMs: 'locking.waited_ms',
  deleted: 'locking.deleted',
  attempt: 'locking.attempt',
} as const;
