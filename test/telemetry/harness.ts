/** In-memory OpenTelemetry SDK for tests: a metric reader to collect on demand and a span exporter. */
import type { Attributes } from "@opentelemetry/api";
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricCollectOptions,
  MetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

class CollectingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
  read(options?: MetricCollectOptions) {
    return this.collect(options);
  }
}

/** One data point: its attributes and its value (a number, or a histogram's count and sum). */
export interface Point {
  attributes: Attributes;
  value: number | { count: number; sum: number };
}

export interface TestTelemetry {
  meterProvider: MeterProvider;
  tracerProvider: BasicTracerProvider;
  /** Every point of the named instrument, sorted by their attributes' JSON. */
  points(name: string): Promise<Point[]>;
  /** Finished spans, of one name or all. */
  spans(name?: string): ReadableSpan[];
  close(): Promise<void>;
}

export function testTelemetry(): TestTelemetry {
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return {
    meterProvider,
    tracerProvider,
    async points(name) {
      const { resourceMetrics } = await reader.read();
      const found: Point[] = [];
      for (const scope of resourceMetrics.scopeMetrics)
        for (const metric of scope.metrics) {
          if (metric.descriptor.name !== name) continue;
          for (const p of metric.dataPoints as DataPoint<number | Histogram>[]) {
            const v = p.value;
            found.push({
              attributes: p.attributes,
              value: typeof v === "number" ? v : { count: v.count, sum: v.sum ?? 0 },
            });
          }
        }
      return found.sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
    },
    spans: (name) => exporter.getFinishedSpans().filter((s) => name === undefined || s.name === name),
    async close() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

/** The value of the point whose attributes equal `attributes` exactly, or `undefined`. */
export function valueAt(points: readonly Point[], attributes: Attributes): Point["value"] | undefined {
  const wanted = JSON.stringify(Object.entries(attributes).sort());
  return points.find((p) => JSON.stringify(Object.entries(p.attributes).sort()) === wanted)?.value;
}
