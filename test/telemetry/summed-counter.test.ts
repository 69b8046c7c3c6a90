/**
 * summedCounter: counts kept by the kit and read by the SDK at collection. What exporters see must be
 * what a synchronous counter would have shown: a monotonic sum per attribute set, cumulative across
 * collections, with the account only per account and an overflow set past the limit.
 */
import { createTelemetry, summedCounter } from "@mandrill-kit/core/plugin";
import { metrics } from "@opentelemetry/api";
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
} from "@opentelemetry/sdk-metrics";
import { afterEach, describe, expect, it } from "vitest";
import { type TestTelemetry, testTelemetry, valueAt } from "./harness.js";

let otel: TestTelemetry | undefined;
afterEach(async () => {
  await otel?.close();
  otel = undefined;
});

const OPTIONS = { description: "Test sends.", unit: "{send}" };

function counter(perAccount = false) {
  otel = testTelemetry();
  const telemetry = createTelemetry({ perAccount, meterProvider: otel.meterProvider });
  const add = summedCounter(
    telemetry,
    telemetry.meter(),
    "mandrill_kit.test.sends",
    OPTIONS,
    (account, outcome: string) => ({
      ...account,
      outcome,
    }),
  );
  return { add, points: () => (otel as TestTelemetry).points("mandrill_kit.test.sends") };
}

describe("summedCounter", () => {
  it("reports each attribute set's running total, cumulative across collections", async () => {
    const { add, points } = counter();
    add(1, "acme", "sent");
    add(2, "globex", "sent");
    add(1, "acme", "error");
    expect(await points()).toEqual([
      { attributes: { outcome: "error" }, value: 1 },
      { attributes: { outcome: "sent" }, value: 3 },
    ]);
    add(5, "acme", "sent");
    expect(valueAt(await points(), { outcome: "sent" })).toBe(8);
    expect(valueAt(await points(), { outcome: "error" })).toBe(1);
  });

  it("returns the same frozen attribute set for a combination, for a histogram recorded beside it", () => {
    const { add } = counter();
    const first = add(1, "acme", "sent");
    expect(first).toEqual({ outcome: "sent" });
    expect(Object.isFrozen(first)).toBe(true);
    expect(add(1, "globex", "sent")).toBe(first);
    expect(add(1, "acme", "error")).not.toBe(first);
  });

  it("keeps accounts apart when perAccount is on", async () => {
    const { add, points } = counter(true);
    add(1, "acme", "sent");
    add(1, "acme", "sent");
    add(1, "globex", "sent");
    expect(await points()).toEqual([
      { attributes: { "mandrill_kit.account": "acme", outcome: "sent" }, value: 2 },
      { attributes: { "mandrill_kit.account": "globex", outcome: "sent" }, value: 1 },
    ]);
  });

  it("counts combinations past 1,999 under otel.metric.overflow (2,000 series: the SDK's limit), so made-up values cannot grow memory", async () => {
    const { add, points } = counter();
    for (let i = 0; i < 1999; i++) add(1, "acme", `Error_${i}`);
    const late = add(1, "acme", "Error_1999");
    add(2, "acme", "Error_2000");
    add(1, "acme", "Error_0");
    expect(late).toEqual({ "otel.metric.overflow": true });
    const found = await points();
    expect(found).toHaveLength(2000);
    expect(valueAt(found, { "otel.metric.overflow": true })).toBe(3);
    expect(valueAt(found, { outcome: "Error_0" })).toBe(2);
    expect(valueAt(found, { outcome: "Error_1998" })).toBe(1);
    expect(valueAt(found, { outcome: "Error_1999" })).toBeUndefined();
  });

  it("is a monotonic sum to exporters, as a synchronous counter is (Prometheus: a counter)", async () => {
    class Reader extends MetricReader {
      protected async onForceFlush(): Promise<void> {}
      protected async onShutdown(): Promise<void> {}
    }
    const reader = new Reader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    try {
      const telemetry = createTelemetry({ meterProvider });
      summedCounter(telemetry, telemetry.meter(), "mandrill_kit.test.sends", OPTIONS, (_a, o: string) => ({
        outcome: o,
      }))(4, "acme", "sent");
      const { resourceMetrics } = await reader.collect();
      const metric = resourceMetrics.scopeMetrics[0]?.metrics[0];
      expect(metric?.dataPointType).toBe(DataPointType.SUM);
      expect(metric?.aggregationTemporality).toBe(AggregationTemporality.CUMULATIVE);
      expect(metric?.dataPointType === DataPointType.SUM && metric.isMonotonic).toBe(true);
    } finally {
      await meterProvider.shutdown();
    }
  });

  it("works without an SDK (the API's no-op meter)", () => {
    const telemetry = createTelemetry({ meterProvider: metrics.getMeterProvider() });
    const add = summedCounter(
      telemetry,
      telemetry.meter(),
      "mandrill_kit.test.sends",
      OPTIONS,
      (_a, o: string) => ({
        outcome: o,
      }),
    );
    expect(add(1, "acme", "sent")).toEqual({ outcome: "sent" });
  });
});
