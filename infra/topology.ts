/**
 * What the system is made of, once, for both places it runs: `npm start` builds it on the emulators
 * (infra/local/) and `npm run deploy` in a Google Cloud project (infra/deploy/). Same names, same
 * retry and dead-letter policy, same cleanup schedule.
 */
export const WORK_TOPIC = 'example-work';
export const DEAD_LETTER_TOPIC = 'example-work-dead-letter';
/** A pull subscription on the dead-letter topic, so dead letters are kept until someone looks. */
export const DEAD_LETTER_HOLD_SUBSCRIPTION = 'example-work-dead-letter-hold';
/** Locally: the push subscription to the worker. In the cloud the worker's Eventarc trigger creates its own. */
export const LOCAL_WORKER_SUBSCRIPTION = 'example-worker-push';
/**
 * The worker's own retry topic: lockedHandler re-queues a message whose lock is held here, not on
 * the work topic, so other subscribers of the work topic (an audit log, another service) see each
 * event once. Its only subscription pushes to the worker, locally and in the cloud.
 */
export const RETRY_TOPIC = 'example-work-retry';
export const RETRY_SUBSCRIPTION = 'example-work-retry-push';

/**
 * How Pub/Sub delivers to the worker, from the work topic and from the retry topic alike. A failed
 * delivery (the handler threw, or lockedHandler's EarlyDeliveryError or LockStillHeldError) comes
 * back after the retry backoff; after maxDeliveryAttempts it goes to the dead-letter topic. The worker's own re-queue backoff tops out at 4 s, so 1..60 s spaces early
 * arrivals without making a re-queued message wait long.
 */
export const WORKER_DELIVERY = Object.freeze({
  ackDeadlineSeconds: 60,
  minimumBackoffSeconds: 1,
  maximumBackoffSeconds: 60,
  maxDeliveryAttempts: 10,
});

/**
 * cleanupLocks runs every minute: besides abandoned locks (its default max age, djangae's, is 10
 * minutes), it hands on waiting rooms nobody else will (a holder that crashed, a lost wake-up), and
 * this schedule is their bound. Cloud Scheduler bills per job, not per run.
 */
export const CLEANUP_SCHEDULE = Object.freeze({
  everyMinutes: 1,
  /** unix-cron, as Cloud Scheduler takes it. */
  cron: '* * * * *',
  timeZone: 'Etc/UTC',
});
export const CLEANUP_JOB = 'cleanup-locks';

export type FunctionTrigger =
  {readonly kind: 'http'} | {readonly kind: 'topic'; readonly topic: string};

export interface FunctionSpec {
  readonly name: string;
  readonly trigger: FunctionTrigger;
}

/** Every function in functions/index.ts; the entry point is the name. */
export const FUNCTIONS: readonly FunctionSpec[] = [
  {name: 'acquireLock', trigger: {kind: 'http'}},
  {name: 'releaseLock', trigger: {kind: 'http'}},
  {name: 'renewLock', trigger: {kind: 'http'}},
  {name: 'cleanupLocks', trigger: {kind: 'http'}},
  {name: 'exampleWorker', trigger: {kind: 'topic', topic: WORK_TOPIC}},
];

/**
 * The live locks page, in functions/index.ts beside the others but not among FUNCTIONS: the local
 * stack serves it (at `/` too), and a deployment has it only when an operator asks for it; even
 * deployed, it answers only where LOCKS_PAGE_ENABLED=true.
 */
export const LOCKS_PAGE: FunctionSpec = {
  name: 'locksPage',
  trigger: {kind: 'http'},
};

export function topicPath(project: string, topic: string): string {
  return `projects/${project}/topics/${topic}`;
}
