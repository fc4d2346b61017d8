import type {PubSub} from '@google-cloud/pubsub';
import type {BackoffPolicy} from '../core/backoff';
import {LockKind} from '../core/kinds';
import {resolveLockOptions} from '../configuration/options';
import {
  backoffPolicyOption,
  durationOption,
  invalidArgument,
  wholeNumberOption,
} from '../validation';
import {FUNCTION_TIMEOUT_MS} from './function-timeout';

export interface LockedHandlerOptions<E> {
  /** The lock a message needs. */
  identifier: (event: E) => string;
  /** `true` (default): a message whose lock is held is re-queued (or redelivered) later. `false`: it is acknowledged and dropped. */
  wait?: boolean;
  stealAfterMs?: number;
  kind?: LockKind;
  /**
   * The lock's lease while the handler runs, renewed at about a third of it. A crashed or frozen
   * instance's lock is free again within this long. Default: 60 s (renewed every ~20 s). From 100 ms.
   */
  leaseMs?: number;
  /**
   * The function's timeout: renewal stops this long after the invocation began, because the platform
   * ends the invocation then and an instance kept alive past it must not keep the lock alive. The
   * lease then runs out by itself. Default: 60 s, the timeout `npm run deploy` sets.
   */
  deadlineMs?: number;
  /**
   * This handler's own retry topic (a name or `projects/P/topics/T`), whose only subscription
   * pushes to this same function: a message whose lock is held is re-published there, so no other
   * subscriber of the work topic sees the copy. Without one, a held lock fails the delivery and the
   * trigger subscription's retry policy redelivers it.
   */
  retryTopic?: string;
  /**
   * The name this option first had ("where to re-queue"), kept for code written against it; the
   * same as `retryTopic`. It no longer defaults to the topic the event came from: copies published
   * there reached every subscriber of the work topic.
   */
  topic?: string;
  /** Delay before a re-queued message is processed. Default: 1 s doubling to 60 s, with equal jitter. Needs `retryTopic`. */
  backoff?: Partial<BackoffPolicy>;
  /** Re-queues before the message is dead-lettered. Default: 10. Needs `retryTopic`. */
  maxAttempts?: number;
  /**
   * Where a message goes after maxAttempts, marked `lock-dead-letter-reason: lock_held`. Without
   * one, the delivery fails after maxAttempts, so the subscription's own dead-letter policy applies.
   * Needs `retryTopic`.
   */
  deadLetterTopic?: string;
  /**
   * STRONG locks with a `retryTopic`: a message whose lock is held parks in the lock's waiting room
   * (in the STRONG store) and is woken, in arrival order, when the holder releases; see docs/locked-handler.md,
   * "The waiting room". Default: `true` where it applies. `false`: the re-queue with backoff.
   * WEAK locks always re-queue: memcached is no durable queue.
   */
  waitingRoom?: boolean;
  /**
   * A parked message that has waited longer than this when its turn comes goes to `deadLetterTopic`
   * (marked `lock-dead-letter-reason: max_wait`) instead of running; without a dead-letter topic it
   * runs, and a warning is logged. Default: 30 minutes.
   */
  maxWaitMs?: number;
  /** At most this many messages wait in one lock's room; the next ones are re-queued with backoff. Default: 1,000. */
  maxQueueLength?: number;
  /**
   * How long a woken message has to claim the lock handed to it: if its wake-up is lost (a failed
   * publish, a dropped push), the next arrival on the key or the next cleanup dispatches it again
   * after this. Default: 30 s.
   */
  handOffLeaseMs?: number;
  /**
   * With a waiting room: after its own message, an invocation that hands its lock on runs the next
   * parked messages of that lock itself, one after another, for up to this long since it began (and
   * never past half of `deadlineMs`): each hand-off's commit grants it the lock for the next one (no
   * publish, no push, no claim). Then it publishes the next one's wake-up. The original delivery is
   * acknowledged when the invocation ends: keep this well under the trigger subscription's ack
   * deadline and the function's timeout. `0`: always publish. Default: 10 s.
   */
  drainBudgetMs?: number;
  /** How long one invocation waits for the lock before re-queueing (invocations are billed by time); not spent with a waiting room, where a message that finds its lock held parks at once. Default: 500 ms. */
  waitBudgetMs?: number;
  /** A message that arrives early waits in the invocation when what is left of its delay is at most this. Default: 2,000 ms. */
  earlyArrivalBudgetMs?: number;
  /** Pub/Sub client for re-queues. Default: `new PubSub()`, built on the first re-queue. */
  pubsub?: PubSub;
}

export const DEFAULT_REQUEUE_BACKOFF: BackoffPolicy = Object.freeze({
  initialMs: 1000,
  maxMs: 60_000,
  multiplier: 2,
});

/** Long enough that renewals every ~20 s ride out a slow store; short enough that a crashed instance holds its lock a minute, not until a cleanup. */
export const DEFAULT_HANDLER_LEASE_MS = 60_000;

export interface ResolvedLockedHandlerOptions {
  readonly wait: boolean;
  readonly kind: LockKind;
  readonly stealAfterMs: number | undefined;
  readonly leaseMs: number;
  readonly deadlineMs: number;
  readonly retryTopic: string | undefined;
  readonly deadLetterTopic: string | undefined;
  readonly backoff: BackoffPolicy;
  readonly maxAttempts: number;
  readonly waitBudgetMs: number;
  readonly earlyArrivalBudgetMs: number;
  /** Whether held locks park their messages (STRONG, wait, a retry topic, not turned off). */
  readonly waitingRoom: boolean;
  readonly maxWaitMs: number;
  readonly maxQueueLength: number;
  readonly handOffLeaseMs: number;
  readonly drainBudgetMs: number;
}

export const DEFAULT_MAX_WAIT_MS = 30 * 60 * 1000;
export const DEFAULT_MAX_QUEUE_LENGTH = 1000;
export const DEFAULT_HANDOFF_LEASE_MS = 30_000;
export const DEFAULT_DRAIN_BUDGET_MS = 10_000;

/** Options that only mean something when messages are re-queued through a retry topic. */
const RETRY_TOPIC_OPTIONS = [
  'backoff',
  'maxAttempts',
  'deadLetterTopic',
] as const;

/** Validated once, when the function is defined: a misconfigured worker fails at deploy, not per message. */
export function resolveLockedHandlerOptions<E>(
  options: LockedHandlerOptions<E>,
): ResolvedLockedHandlerOptions {
  if (typeof options?.identifier !== 'function')
    throw invalidArgument('lockedHandler needs an identifier(event) function');
  if (
    options.topic !== undefined &&
    options.retryTopic !== undefined &&
    options.topic !== options.retryTopic
  ) {
    throw invalidArgument(
      '`topic` is the older name of `retryTopic`: give one of them',
    );
  }
  const retryTopic = options.retryTopic ?? options.topic;
  const lockOptions = resolveLockOptions({
    ...(options.wait === undefined ? {} : {wait: options.wait}),
    ...(options.kind === undefined ? {} : {kind: options.kind}),
    ...(options.stealAfterMs === undefined
      ? {}
      : {stealAfterMs: options.stealAfterMs}),
    leaseMs: options.leaseMs ?? DEFAULT_HANDLER_LEASE_MS,
  });
  topicOption('retryTopic', retryTopic);
  topicOption('deadLetterTopic', options.deadLetterTopic);
  if (retryTopic === undefined) {
    const orphans = RETRY_TOPIC_OPTIONS.filter(
      name => options[name] !== undefined,
    );
    if (orphans.length > 0) {
      throw invalidArgument(
        `${orphans.join(', ')} need retryTopic: without it a held lock fails the delivery, and the subscription's retry and dead-letter policy apply instead`,
      );
    }
  }
  const backoff = backoffPolicyOption(
    'backoff',
    options.backoff,
    DEFAULT_REQUEUE_BACKOFF,
  );
  const maxAttempts = wholeNumberOption(
    'maxAttempts',
    options.maxAttempts,
    0,
    10,
  );
  if (
    options.waitingRoom !== undefined &&
    typeof options.waitingRoom !== 'boolean'
  )
    throw invalidArgument('waitingRoom must be true or false');
  if (options.waitingRoom === true) {
    if (lockOptions.kind !== LockKind.STRONG)
      throw invalidArgument(
        'the waiting room needs a STRONG lock: memcached is no durable queue (WEAK handlers re-queue)',
      );
    if (retryTopic === undefined)
      throw invalidArgument(
        'the waiting room needs retryTopic: woken messages are published there',
      );
    if (!lockOptions.wait)
      throw invalidArgument('the waiting room needs wait: true');
  }
  const waitingRoom =
    options.waitingRoom !== false &&
    lockOptions.kind === LockKind.STRONG &&
    lockOptions.wait &&
    retryTopic !== undefined;
  const handOffLeaseMs =
    durationOption('handOffLeaseMs', options.handOffLeaseMs) ??
    DEFAULT_HANDOFF_LEASE_MS;
  if (handOffLeaseMs < 100)
    throw invalidArgument('handOffLeaseMs must be at least 100 ms');
  return {
    waitingRoom,
    maxWaitMs:
      durationOption('maxWaitMs', options.maxWaitMs) ?? DEFAULT_MAX_WAIT_MS,
    maxQueueLength: wholeNumberOption(
      'maxQueueLength',
      options.maxQueueLength,
      1,
      DEFAULT_MAX_QUEUE_LENGTH,
    ),
    handOffLeaseMs,
    drainBudgetMs:
      durationOption('drainBudgetMs', options.drainBudgetMs) ??
      DEFAULT_DRAIN_BUDGET_MS,
    wait: lockOptions.wait,
    kind: lockOptions.kind,
    stealAfterMs: lockOptions.stealAfterMs,
    leaseMs: lockOptions.leaseMs as number,
    deadlineMs:
      durationOption('deadlineMs', options.deadlineMs) ?? FUNCTION_TIMEOUT_MS,
    retryTopic,
    deadLetterTopic: options.deadLetterTopic,
    backoff,
    maxAttempts,
    waitBudgetMs: durationOption('waitBudgetMs', options.waitBudgetMs) ?? 500,
    earlyArrivalBudgetMs:
      durationOption('earlyArrivalBudgetMs', options.earlyArrivalBudgetMs) ??
      2000,
  };
}

/** A Pub/Sub topic: a name or `projects/P/topics/T`, or absent. */
function topicOption(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0))
    throw invalidArgument(`${name} must be a topic name`);
}
