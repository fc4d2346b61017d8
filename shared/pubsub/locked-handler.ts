import type { PubSub } from '@google-cloud/pubsub';
import { equalJitterDelayMs, sleep, type BackoffPolicy } from '../backoff';
import { LockError } from '../errors';
import { Lock } from '../lock';
import type { LockKind } from '../kinds';
import { log } from '../log';
import { durationOption, resolveLockOptions } from '../options';
import { Publisher } from './publisher';
import { DEAD_LETTER_REASON_ATTRIBUTE, requeueAttributes, requeueStateOf } from './requeue-attributes';

/** The parts of a Pub/Sub CloudEvent (`google.cloud.pubsub.topic.v1.messagePublished`) used here. */
export interface PubSubCloudEvent {
  readonly id?: string;
  /** `//pubsub.googleapis.com/projects/PROJECT/topics/TOPIC` */
  readonly source?: string;
  readonly data?: {
    readonly message?: {
      /** base64 */
      readonly data?: string;
      readonly attributes?: Record<string, string>;
      readonly messageId?: string;
    };
  };
}

export interface LockedHandlerOptions<E extends PubSubCloudEvent> {
  /** The lock a message needs. */
  identifier: (event: E) => string;
  /** `true` (default): a message whose lock is held is re-queued with backoff. `false`: it is acknowledged and dropped. */
  wait?: boolean;
  stealAfterMs?: number;
  kind?: LockKind;
  /** Where to re-queue: a topic name or `projects/P/topics/T`. Default: the topic the event came from. */
  topic?: string;
  /** Delay before a re-queued message is processed. Default: 1 s doubling to 60 s, with equal jitter. */
  backoff?: Partial<BackoffPolicy>;
  /** Re-queues before the message is dead-lettered. Default: 10. */
  maxAttempts?: number;
  /** Where a message goes after maxAttempts; without one, an error is logged and the message acknowledged. */
  deadLetterTopic?: string;
  /** How long one invocation waits for the lock before re-queueing (invocations are billed by time). Default: 500 ms. */
  waitBudgetMs?: number;
  /** A message that arrives early waits in the invocation when what is left of its delay is at most this. Default: 2,000 ms. */
  earlyArrivalBudgetMs?: number;
  /** Pub/Sub client for re-queues. Default: `new PubSub()`, built on the first re-queue. */
  pubsub?: PubSub;
}

export const DEFAULT_REQUEUE_BACKOFF: BackoffPolicy = Object.freeze({ initialMs: 1000, maxMs: 60_000, multiplier: 2 });

/**
 * Thrown for a message that arrived before its not-before time, by more than the early-arrival
 * budget: the function fails, Pub/Sub does not count the message as delivered, and the
 * subscription's retry backoff (not a re-publish) spaces the next try. No busy loop.
 */
export class EarlyDeliveryError extends Error {
  override readonly name = 'EarlyDeliveryError';
}

/**
 * Wraps a Pub/Sub-triggered CloudEvent handler so it runs under a lock.
 *
 * - Acquired: runs the handler, then releases (also when it throws; its error propagates, so
 *   Pub/Sub's own retry applies).
 * - Held, `wait: false`: acknowledges the message without running the handler.
 * - Held, `wait: true`: re-publishes the message (same data and attributes, plus `lock-attempt` and
 *   `lock-not-before`), and acknowledges the original only once the publish succeeded: if it
 *   fails, the invocation throws and Pub/Sub redelivers. Nothing is lost.
 * - After `maxAttempts` re-queues: dead-lettered, never looped forever.
 */
export function lockedHandler<E extends PubSubCloudEvent>(
  options: LockedHandlerOptions<E>,
  handler: (event: E) => unknown,
): (event: E) => Promise<void> {
  const settings = resolveLockedHandlerOptions(options);
  const publisher = new Publisher(options.pubsub);

  return async (event: E) => {
    const message = event.data?.message ?? {};
    const state = requeueStateOf(message.attributes);
    const identifier = options.identifier(event);
    const context = { identifier, messageId: message.messageId ?? event.id, attempt: state.attempt };

    const early = state.notBefore - Date.now();
    if (early > settings.earlyArrivalBudgetMs) {
      log('INFO', 'lockedHandler: early delivery, left to the subscription retry', { ...context, outcome: 'early', earlyMs: Math.round(early) });
      throw new EarlyDeliveryError(`message ${context.messageId} is due in ${Math.round(early)} ms`);
    }
    if (early > 0) await sleep(early);

    const held = await Lock.acquire(identifier, {
      kind: settings.kind,
      wait: settings.wait && settings.waitBudgetMs > 0,
      waitForMs: settings.waitBudgetMs,
      ...(settings.stealAfterMs === undefined ? {} : { stealAfterMs: settings.stealAfterMs }),
    });
    if (held) {
      log('INFO', 'lockedHandler: running', { ...context, outcome: 'ran' });
      return runHolding(held, () => handler(event), context);
    }
    if (!settings.wait) {
      log('INFO', 'lockedHandler: lock held, message dropped (wait: false)', { ...context, outcome: 'dropped' });
      return;
    }

    const data = Buffer.from(message.data ?? '', 'base64');
    if (state.attempt >= settings.maxAttempts) {
      if (!settings.deadLetterTopic) {
        log('ERROR', 'lockedHandler: lock still held after maxAttempts; message acknowledged without a dead-letter topic', { ...context, outcome: 'abandoned' });
        return;
      }
      const attributes = { ...requeueAttributes(message.attributes, state), [DEAD_LETTER_REASON_ATTRIBUTE]: 'lock_held' };
      await publisher.publish(settings.deadLetterTopic, data, attributes);
      log('WARNING', 'lockedHandler: lock still held after maxAttempts; message dead-lettered', { ...context, outcome: 'dead_lettered' });
      return;
    }

    const topic = settings.topic ?? topicOf(event);
    const attempt = state.attempt + 1;
    const delayMs = equalJitterDelayMs(settings.backoff, attempt - 1);
    await publisher.publish(topic, data, requeueAttributes(message.attributes, { attempt, notBefore: Date.now() + delayMs }));
    log('INFO', 'lockedHandler: lock held, message re-queued', { ...context, outcome: 'requeued', nextAttempt: attempt, delayMs: Math.round(delayMs) });
  };
}

/** Runs `fn` holding the lock; always releases. A failed release is logged, not thrown: the work is done, and redelivery would repeat it. */
async function runHolding(held: Lock, fn: () => unknown, context: Record<string, unknown>): Promise<void> {
  try {
    await fn();
  } finally {
    await held.release().catch((error: unknown) => {
      log('ERROR', 'lockedHandler: release failed; the lock stays until stolen or cleaned up', { ...context, detail: (error as Error)?.message });
    });
  }
}

function topicOf(event: PubSubCloudEvent): string {
  const topic = /projects\/[^/]+\/topics\/[^/]+$/.exec(event.source ?? '')?.[0];
  if (!topic) {
    throw new LockError('INVALID_ARGUMENT', `cannot re-queue: no topic option and no topic in the event source ${JSON.stringify(event.source)}`);
  }
  return topic;
}

interface ResolvedLockedHandlerOptions {
  readonly wait: boolean;
  readonly kind: LockKind;
  readonly stealAfterMs: number | undefined;
  readonly topic: string | undefined;
  readonly deadLetterTopic: string | undefined;
  readonly backoff: BackoffPolicy;
  readonly maxAttempts: number;
  readonly waitBudgetMs: number;
  readonly earlyArrivalBudgetMs: number;
}

/** Validated once, when the function is defined: a misconfigured worker fails at deploy, not per message. */
function resolveLockedHandlerOptions<E extends PubSubCloudEvent>(options: LockedHandlerOptions<E>): ResolvedLockedHandlerOptions {
  if (typeof options?.identifier !== 'function') throw new LockError('INVALID_ARGUMENT', 'lockedHandler needs an identifier(event) function');
  const lockOptions = resolveLockOptions({
    ...(options.wait === undefined ? {} : { wait: options.wait }),
    ...(options.kind === undefined ? {} : { kind: options.kind }),
    ...(options.stealAfterMs === undefined ? {} : { stealAfterMs: options.stealAfterMs }),
  });
  const backoff = { ...DEFAULT_REQUEUE_BACKOFF, ...options.backoff };
  for (const [name, value] of Object.entries(backoff)) durationOption(`backoff.${name}`, value);
  if (backoff.multiplier < 1 || backoff.initialMs <= 0) throw new LockError('INVALID_ARGUMENT', 'backoff needs initialMs > 0 and multiplier >= 1');
  const maxAttempts = options.maxAttempts ?? 10;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 0) throw new LockError('INVALID_ARGUMENT', 'maxAttempts must be a whole number >= 0');
  for (const name of ['topic', 'deadLetterTopic'] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) throw new LockError('INVALID_ARGUMENT', `${name} must be a topic name`);
  }
  return {
    wait: lockOptions.wait,
    kind: lockOptions.kind,
    stealAfterMs: lockOptions.stealAfterMs,
    topic: options.topic,
    deadLetterTopic: options.deadLetterTopic,
    backoff,
    maxAttempts,
    waitBudgetMs: durationOption('waitBudgetMs', options.waitBudgetMs) ?? 500,
    earlyArrivalBudgetMs: durationOption('earlyArrivalBudgetMs', options.earlyArrivalBudgetMs) ?? 2000,
  };
}
