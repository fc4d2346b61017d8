import {metrics, trace} from '@opentelemetry/api';
import {
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

/** A metric reader the test collects from when it wants, rather than on a timer. */
class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface CollectedMetric {
  readonly name: string;
  readonly unit: string;
  readonly points: readonly DataPoint<number | Histogram>[];
}

/**
 * The OpenTelemetry SDK registered globally with in-memory exporters, as an app would register
 * its own: what the library reports is read back from them.
 */
export class OtelMemory {
  readonly exporter = new InMemorySpanExporter();
  private readonly reader = new OnDemandReader();
  private readonly tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(this.exporter)],
  });
  private readonly meterProvider = new MeterProvider({readers: [this.reader]});

  static register(): OtelMemory {
    const memory = new OtelMemory();
    trace.disable();
    metrics.disable();
    trace.setGlobalTracerProvider(memory.tracerProvider);
    metrics.setGlobalMeterProvider(memory.meterProvider);
    return memory;
  }

  spans(name?: string): ReadableSpan[] {
    return this.exporter
      .getFinishedSpans()
      .filter(span => name === undefined || span.name === name);
  }

  async metrics(): Promise<CollectedMetric[]> {
    const {resourceMetrics} = await this.reader.collect();
    return resourceMetrics.scopeMetrics.flatMap(scope =>
      scope.metrics.map(metric => ({
        name: metric.descriptor.name,
        unit: metric.descriptor.unit,
        points: metric.dataPoints as DataPoint<number | Histogram>[],
      })),
    );
  }

  /** The counter's value for points whose attributes include `attributes`. */
  async count(
    name: string,
    attributes: Record<string, string> = {},
  ): Promise<number> {
    const metric = (await this.metrics()).find(
      candidate => candidate.name === name,
    );
    return (metric?.points ?? [])
      .filter(point =>
        Object.entries(attributes).every(
          ([key, value]) => point.attributes[key] === value,
        ),
      )
      .reduce(
        (sum, point) =>
          sum +
          (typeof point.value === 'number' ? point.value : point.value.count),
        0,
      );
  }

  async unregister(): Promise<void> {
    trace.disable();
    metrics.disable();
    await Promise.all([
      this.tracerProvider.shutdown(),
      this.meterProvider.shutdown(),
    ]);
  }
}
