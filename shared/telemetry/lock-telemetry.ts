import type {Grant} from '../core/waiting';
import {holderIdOf} from '../core/holder-id';
import type {LockKind} from '../core/kinds';
import {
  eventsObserved,
  publishEvent,
  type LockEvent,
  type LockEventType,
} from './events-channel';
import {identifierHashOf} from './identifier-hash';
import {instrumentsOf, type Instruments} from './instruments';
import {ATTRIBUTES, INSTRUMENTATION_SCOPE, SPANS} from './names';
import {otelApi} from './otel-api';

/**
 * The library's only door to OpenTelemetry and to the events channel: spans, metrics and events
 * for acquire, release, renew, loss, cleanup and lockedHandler. With neither `@opentelemetry/api`
 * installed nor a subscriber on the channel, each call is a plain call of `run`.
 */

/** What an operation is about. */
export interface Subject {
  readonly kind: LockKind;
  /** Absent for cleanup, which concerns many locks. */
  readonly identifier?: string;
  /** The configuration's `telemetry.recordIdentifiers` (see TelemetryConfig). */
  readonly recordIdentifiers: boolean;
}

/** What an operation came to, for its span, its metrics and its event. */
export interface Settled {
  readonly outcome: string;
  readonly fence?: bigint | undefined;
  readonly holderId?: string | undefined;
  readonly deleted?: number;
  readonly depth?: number | undefined;
  readonly reason?: string | undefined;
}

type Attributes = Record<string, string | number | boolean>;

interface Observation<T> {
  readonly span: string;
  readonly event: LockEventType | null;
  readonly settle: (result: T) => Settled;
  readonly count: (
    instruments: Instruments,
    settled: Settled,
    attributes: Attributes,
    elapsedMs: number,
  ) => void;
  /** Whether the elapsed time is waiting worth reporting (acquire). */
  readonly reportsWait?: boolean;
}

async function observe<T>(
  subject: Subject,
  run: () => Promise<T>,
  observation: Observation<T>,
): Promise<T> {
  const api = otelApi();
  const publishing = observation.event !== null && eventsObserved();
  if (!api && !publishing) return run();
  const startedAt = performance.now();
  const span = api?.trace
    .getTracer(INSTRUMENTATION_SCOPE)
    .startSpan(observation.span, {
      attributes: {[ATTRIBUTES.kind]: subject.kind},
    });
  let settled: Settled = {outcome: 'error'};
  try {
    const result = await (api && span
      ? api.context.with(api.trace.setSpan(api.context.active(), span), run)
      : run());
    settled = observation.settle(result);
    return result;
  } catch (error) {
    // The code, not the message: messages can quote an identifier.
    span?.setStatus({
      code: 2 /* SpanStatusCode.ERROR */,
      message: errorCodeOf(error),
    });
    throw error;
  } finally {
    const elapsedMs = performance.now() - startedAt;
    const waitedMs = observation.reportsWait
      ? Math.round(elapsedMs)
      : undefined;
    if (api && span) {
      if (span.isRecording())
        span.setAttributes({
          ...identifierAttributes(subject),
          ...detailAttributes(settled, waitedMs),
        });
      span.end();
      observation.count(
        instrumentsOf(api),
        settled,
        {
          [ATTRIBUTES.kind]: subject.kind,
          [ATTRIBUTES.outcome]: settled.outcome,
        },
        elapsedMs,
      );
    }
    if (publishing && observation.event)
      publishEvent(eventOf(observation.event, subject, settled, waitedMs));
  }
}

export function observeAcquire(
  subject: Subject & {identifier: string},
  run: () => Promise<Grant | null>,
): Promise<Grant | null> {
  return observe(subject, run, {
    span: SPANS.acquire,
    event: 'acquire',
    reportsWait: true,
    settle: grant =>
      grant
        ? {
            outcome: grant.takeover ?? 'acquired',
            fence: grant.record.fence,
            holderId: holderIdOf(grant.record.token),
          }
        : {outcome: 'held'},
    count: (instruments, _settled, attributes, elapsedMs) => {
      instruments.acquisitions.add(1, attributes);
      instruments.acquireWait.record(elapsedMs, attributes);
    },
  });
}

export function observeRelease(
  subject: Subject,
  holderId: string,
  run: () => Promise<boolean>,
): Promise<boolean> {
  return observe(subject, run, {
    span: SPANS.release,
    event: 'release',
    settle: released => ({
      outcome: released ? 'released' : 'not_holder',
      holderId,
    }),
    count: (instruments, _settled, attributes) =>
      instruments.releases.add(1, attributes),
  });
}

export function observeRenew<T>(
  subject: Subject,
  holderId: string,
  fence: bigint | undefined,
  run: () => Promise<T>,
  renewed: (result: T) => boolean = Boolean,
): Promise<T> {
  return observe(subject, run, {
    span: SPANS.renew,
    event: 'renew',
    settle: result => ({
      outcome: renewed(result) ? 'renewed' : 'not_holder',
      holderId,
      fence,
    }),
    count: (instruments, _settled, attributes) =>
      instruments.renewals.add(1, attributes),
  });
}

export function observeCleanup(
  subject: Subject,
  run: () => Promise<number>,
): Promise<number> {
  return observe(subject, run, {
    span: SPANS.cleanup,
    event: 'cleanup',
    settle: deleted => ({outcome: 'done', deleted}),
    count: (instruments, settled) => {
      if (settled.deleted)
        instruments.cleanupDeleted.add(settled.deleted, {
          [ATTRIBUTES.kind]: subject.kind,
        });
    },
  });
}

/** lockedHandler running its handler under the lock (the acquire is a span of its own, before). */
export function observeHandlerRun(
  subject: Subject,
  holderId: string,
  run: () => Promise<void>,
): Promise<void> {
  return observe(subject, run, {
    span: SPANS.handlerRun,
    event: null,
    settle: () => ({outcome: 'ran', holderId}),
    count: () => undefined,
  });
}

/** Why lockedHandler dead-letters a message: re-queued too often, or parked too long. */
export type DeadLetterReason = 'max_attempts' | 'max_wait' | 'bad_message';

/**
 * lockedHandler publishing a held message to its retry topic, or to its dead-letter topic (by
 * default after maxAttempts; `max_wait` for a message parked longer than maxWaitMs).
 */
export function observeRequeue<T>(
  subject: Subject,
  to: 'requeue' | 'dead_letter',
  run: () => Promise<T>,
  reason: DeadLetterReason = 'max_attempts',
): Promise<T> {
  const deadLetter = to === 'dead_letter';
  return observe(subject, run, {
    span: SPANS.handlerRequeue,
    event: to,
    settle: () =>
      deadLetter ? {outcome: 'dead_lettered', reason} : {outcome: 'requeued'},
    count: (instruments, settled, attributes) => {
      if (settled.outcome === 'error') return;
      if (deadLetter)
        instruments.deadLetters.add(1, {
          ...attributes,
          [ATTRIBUTES.reason]: reason,
        });
      else instruments.requeues.add(1, attributes);
    },
  });
}

/** A holder learnt its lock is no longer its own. */
export function noteLost(subject: Subject, holderId: string): void {
  const api = otelApi();
  if (api) instrumentsOf(api).lost.add(1, {[ATTRIBUTES.kind]: subject.kind});
  if (eventsObserved())
    publishEvent(
      eventOf('lost', subject, {outcome: 'lost', holderId}, undefined),
    );
}

function identifierAttributes(subject: Subject): Attributes {
  if (subject.identifier === undefined) return {};
  if (subject.recordIdentifiers)
    return {
      [ATTRIBUTES.identifier]: subject.identifier,
      [ATTRIBUTES.identifierHash]: identifierHashOf(subject.identifier),
    };
  return {[ATTRIBUTES.identifierHash]: identifierHashOf(subject.identifier)};
}

function detailAttributes(
  settled: Settled,
  waitedMs: number | undefined,
): Attributes {
  return {
    [ATTRIBUTES.outcome]: settled.outcome,
    ...(settled.fence === undefined
      ? {}
      : {[ATTRIBUTES.fence]: settled.fence.toString()}),
    ...(settled.holderId === undefined
      ? {}
      : {[ATTRIBUTES.holderId]: settled.holderId}),
    ...(waitedMs === undefined ? {} : {[ATTRIBUTES.waitedMs]: waitedMs}),
    ...(settled.deleted === undefined
      ? {}
      : {[ATTRIBUTES.deleted]: settled.deleted}),
    ...(settled.reason === undefined
      ? {}
      : {[ATTRIBUTES.reason]: settled.reason}),
  };
}

export function eventOf(
  type: LockEventType,
  subject: Subject,
  settled: Settled,
  waitedMs: number | undefined,
): LockEvent {
  return {
    type,
    kind: subject.kind,
    ...(subject.identifier === undefined
      ? {}
      : {identifierHash: identifierHashOf(subject.identifier)}),
    ...(subject.identifier !== undefined && subject.recordIdentifiers
      ? {identifier: subject.identifier}
      : {}),
    outcome: settled.outcome,
    ...(settled.fence === undefined ? {} : {fence: settled.fence.toString()}),
    ...(settled.holderId === undefined ? {} : {holderId: settled.holderId}),
    ...(waitedMs === undefined ? {} : {waitedMs}),
    ...(settled.deleted === undefined ? {} : {deleted: settled.deleted}),
    ...(settled.depth === undefined ? {} : {depth: settled.depth}),
    ...(settled.reason === undefined ? {} : {reason: settled.reason}),
    at: new Date().toISOString(),
  };
}

function errorCodeOf(error: unknown): string {
  const code = (error as {code?: unknown})?.code;
  return typeof code === 'string' ? code : ((error as Error)?.name ?? 'Error');
}
