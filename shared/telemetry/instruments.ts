import type {Counter, Histogram, MeterProvider} from '@opentelemetry/api';
import {INSTRUMENTATION_SCOPE, METRICS} from './names';
import type {Otel} from './otel-api';

export interface Instruments {
  readonly acquireWait: Histogram;
  readonly acquisitions: Counter;
  readonly releases: Counter;
  readonly renewals: Counter;
  readonly lost: Counter;
  readonly cleanupDeleted: Counter;
  readonly requeues: Counter;
  readonly deadLetters: Counter;
  readonly parks: Counter;
  readonly wakes: Counter;
  readonly parkedTime: Histogram;
  readonly dispatches: Counter;
}

let cached:
  | {readonly provider: MeterProvider; readonly instruments: Instruments}
  | undefined;

/**
 * The instruments of the meter provider registered now. The metrics API has no proxy (unlike
 * tracing): instruments made before the app registers its SDK would stay no-ops for good, so they
 * are made again whenever the global provider changes.
 */
export function instrumentsOf(api: Otel): Instruments {
  const provider = api.metrics.getMeterProvider();
  if (cached?.provider !== provider)
    cached = {provider, instruments: create(provider)};
  return cached.instruments;
}

function create(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(INSTRUMENTATION_SCOPE);
  return {
    acquireWait: meter.createHistogram(METRICS.acquireWait, {
      unit: 'ms',
      description: 'Time each acquire took, its waiting included',
    }),
    acquisitions: meter.createCounter(METRICS.acquisitions, {
      unit: '{acquisition}',
      description: 'Acquires by outcome',
    }),
    releases: meter.createCounter(METRICS.releases, {
      unit: '{release}',
      description: 'Releases by outcome',
    }),
    renewals: meter.createCounter(METRICS.renewals, {
      unit: '{renewal}',
      description: 'Renewals by outcome',
    }),
    lost: meter.createCounter(METRICS.lost, {
      unit: '{lock}',
      description: 'Holders that learnt their lock was lost',
    }),
    cleanupDeleted: meter.createCounter(METRICS.cleanupDeleted, {
      unit: '{lock}',
      description: 'Locks removed by cleanup',
    }),
    requeues: meter.createCounter(METRICS.requeues, {
      unit: '{message}',
      description: 'lockedHandler re-queues of a message whose lock was held',
    }),
    deadLetters: meter.createCounter(METRICS.deadLetters, {
      unit: '{message}',
      description:
        'lockedHandler messages dead-lettered, after maxAttempts or maxWaitMs',
    }),
    parks: meter.createCounter(METRICS.parks, {
      unit: '{message}',
      description:
        'lockedHandler parks of a message whose lock was held, by outcome',
    }),
    wakes: meter.createCounter(METRICS.wakes, {
      unit: '{message}',
      description: 'Parked messages that claimed the lock handed to them',
    }),
    parkedTime: meter.createHistogram(METRICS.parkedTime, {
      unit: 'ms',
      description: 'Time each woken message spent parked, park to claim',
    }),
    dispatches: meter.createCounter(METRICS.dispatches, {
      unit: '{message}',
      description:
        'Parked messages handed the lock and published, by who handed it',
    }),
  };
}
