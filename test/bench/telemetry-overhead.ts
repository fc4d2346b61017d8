import type {Datastore} from '@google-cloud/datastore';
import {metrics, trace} from '@opentelemetry/api';
import {
  InMemoryMetricExporter,
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type {Client as MemjsClient} from 'memjs';
import {configureLocking, Lock, LockKind} from '../../shared';
import {median, percentile, round, timed} from './stats';

const SAMPLES = 300;

/**
 * The uncontended acquire + release cycle with no OpenTelemetry SDK registered (the API installed,
 * as it is here, hands out no-ops) and with an SDK registered as an app would (batched spans to an
 * in-memory exporter, a metric reader), in the same run. The two alternate in a random order, one
 * cycle each, so a busy moment of the machine falls on both alike.
 */
export async function telemetryOverhead(
  datastore: Datastore,
  memcache: MemjsClient,
  results: Record<string, unknown>,
  lines: string[],
): Promise<void> {
  configureLocking({datastore, memcache});
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(spans)],
  });
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
        exportIntervalMillis: 1000,
      }),
    ],
  });
  const withSdk = (on: boolean) => {
    trace.disable();
    metrics.disable();
    if (on) {
      trace.setGlobalTracerProvider(tracerProvider);
      metrics.setGlobalMeterProvider(meterProvider);
    }
  };
  let sequence = 0;
  const cycle = async (kind: LockKind) => {
    const held = await Lock.acquire(`bench-otel-${process.pid}-${++sequence}`, {
      kind,
    });
    await held?.release();
  };

  const rows: {kind: LockKind; without: number[]; with: number[]}[] = [
    {kind: LockKind.STRONG, without: [], with: []},
    {kind: LockKind.WEAK, without: [], with: []},
  ];
  try {
    for (const row of rows) {
      for (let i = 0; i < 20; i++) {
        for (const on of [false, true]) {
          withSdk(on);
          await cycle(row.kind);
        }
      }
    }
    for (let i = 0; i < SAMPLES; i++) {
      for (const row of rows) {
        for (const on of Math.random() < 0.5 ? [false, true] : [true, false]) {
          withSdk(on);
          (on ? row.with : row.without).push(
            await timed(() => cycle(row.kind)),
          );
        }
      }
    }
  } finally {
    withSdk(false);
    await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
  }

  const summary = rows.map(row => ({
    kind: row.kind,
    withoutSdkMedianMs: round(median(row.without), 3),
    withSdkMedianMs: round(median(row.with), 3),
    withoutSdkP90Ms: round(percentile(row.without, 90), 3),
    withSdkP90Ms: round(percentile(row.with, 90), 3),
    medianDifferenceMs: round(median(row.with) - median(row.without), 3),
  }));
  results.telemetryOverhead = {samples: SAMPLES, rows: summary};
  lines.push(
    '## OpenTelemetry: the uncontended cycle with and without an SDK registered',
    '',
    `Acquire + release, ${SAMPLES} cycles each, alternating in a random order. "Without": \`@opentelemetry/api\` installed, no SDK (its no-op tracer and meter). "With": a BasicTracerProvider with a batch span processor and a MeterProvider with a reader, as an app registers them.`,
    '',
    '| lock | without SDK, median ms | with SDK, median ms | difference | without, p90 | with, p90 |',
    '| --- | --- | --- | --- | --- | --- |',
    ...summary.map(
      row =>
        `| ${row.kind} | ${row.withoutSdkMedianMs} | ${row.withSdkMedianMs} | ${row.medianDifferenceMs} | ${row.withoutSdkP90Ms} | ${row.withSdkP90Ms} |`,
    ),
    '',
  );
}
