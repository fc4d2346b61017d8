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
  /**
   * Counter: lockedHandler messages sent to the dead-letter topic, by reason (max_attempts: re-queued
   * too often; max_wait: parked longer than maxWaitMs).
   */
  deadLetters: 'locking.handler.dead_letters',
  /**
   * Counter: lockedHandler's attempts to park a message whose lock was held, by outcome (parked;
   * full: the room held maxQueueLength; too_large: over what a parked record holds). The last two
   * are re-queued instead.
   */
  parks: 'locking.handler.parks',
  /** Counter: parked messages woken, that is whose wake-up claimed the lock handed to them. */
  wakes: 'locking.handler.wakes',
  /** Histogram, ms: how long each woken message was parked, from its park to its claim. */
  parkedTime: 'locking.handler.parked_time',
  /**
   * Counter: parked messages handed the lock and published to their retry topic, by who did it
   * (release: a holder's release; arrival: a message that found the lock vacant or lapsed; sweep:
   * the scheduled cleanup).
   */
  dispatches: 'locking.handler.dispatches',
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
  /** Why a message was dead-lettered: max_attempts, max_wait or bad_message (it names no lock). */
  reason: 'locking.reason',
  /** Who handed a parked message the lock: release, arrival or sweep. */
  dispatchedBy: 'locking.dispatched_by',
  /** Messages in the lock's waiting room after a park. */
  depth: 'locking.depth',
} as const;
