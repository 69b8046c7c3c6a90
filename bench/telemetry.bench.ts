/**
 * Instrumentation overhead (issue 18): webhook ingest and API sends with OpenTelemetry on (metrics SDK
 * with the Prometheus reader, trace SDK recording every span) beside off (no SDK: the API's no-ops),
 * many short alternating pairs of blocks in the same run. Load clients and the simulator run in their
 * own processes, so the CPU time of this process is the kit's alone; CPU time per operation is
 * compared, because wall time on a shared 2-core machine mostly measures the neighbours.
 *
 * `pnpm tsx bench/telemetry.bench.ts` runs it alone and updates its BENCHMARKS.md section.
 * MK_BENCH_OTEL_PAIRS (60), MK_BENCH_OTEL_BATCHES (batches per ingest block, 2) and
 * MK_BENCH_OTEL_SENDS (sends per send block, 250) change the amounts.
 */

import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { MetricsOptions } from "@mandrill-kit/core";
import { addKey, type MandrillKitMiddleware, mandrillKit } from "@mandrill-kit/credentials";
import { createSender, type Sender } from "@mandrill-kit/sender";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { type MandrillWebhooks, mandrillWebhooks } from "@mandrill-kit/webhooks";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import express from "express";
import { printTable, renderMarkdown, replaceSection, type Table } from "./lib/report.js";
import { ask, startPostClient } from "./lib/server-process.js";
import { fmt, medianInterval, summarize } from "./lib/stats.js";
import { startSim } from "./sender.bench.js";

const WEBHOOK_KEY = "whk-bench-telemetry-0123456789";
const PUBLIC_URL = "https://hooks.example.com";
const API_KEY = "bench-key-0123456789abcdefgh";

/** Spans go nowhere: the cost measured is recording and batching them, not an exporter's network. */
const DISCARD: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
};

/** An SDK as a host would install it: Prometheus reader for metrics, a recording tracer. */
function sdkOn(): { metrics: MetricsOptions; prometheus: PrometheusExporter; shutdown(): Promise<void> } {
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [prometheus] });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(DISCARD)] });
  return {
    metrics: { meterProvider, tracerProvider },
    prometheus,
    shutdown: async () => {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

interface Variant {
  kit: MandrillKitMiddleware;
  webhooks: MandrillWebhooks;
  server: Server;
  port: number;
  sender: Sender;
  close(): Promise<void>;
}

async function variant(
  dir: string,
  name: string,
  apiUrl: string,
  metrics?: MetricsOptions,
): Promise<Variant> {
  const store = openSqliteStore({ filename: join(dir, `${name}.db`) });
  const kit = mandrillKit({
    store,
    keys: addKey(undefined, "bench"),
    publicUrl: PUBLIC_URL,
    ...(metrics === undefined ? {} : { metrics }),
  });
  await kit.credentials.save("acme", {
    transport: "api",
    username: "ops@acme.example",
    apiKey: API_KEY,
    fromEmail: "hello@acme.example",
    webhookKey: WEBHOOK_KEY,
  });
  const webhooks = mandrillWebhooks({ pollIntervalMs: 100 });
  webhooks.on(["hard_bounce", "soft_bounce", "spam", "unsub", "reject"], () => {});
  const app = express();
  app.use(kit);
  app.use(webhooks);
  webhooks.start(kit.context);
  const server = createServer(app);
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
  const sender = createSender({
    context: kit.context,
    network: { allow: ["127.0.0.1"] },
    api: { baseUrl: apiUrl, connections: 8 },
  });
  return {
    kit,
    webhooks,
    server,
    port,
    sender,
    async close() {
      await sender.close();
      await webhooks.close();
      await new Promise((r) => server.close(r));
      await store.close();
    },
  };
}

/**
 * `gc()` with `--expose-gc` turned on from inside (`pnpm bench` passes no flags): a full collection
 * before each block, so one block's old garbage is not charged to the next, which may be the other
 * variant's; a minor one at the end of each block, inside its measurement, so the young garbage a
 * block made (the SDK's spans and data points among it) is charged to that block.
 */
const gc: (options?: { type: "minor" }) => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as (options?: { type: "minor" }) => void;
})();

/** CPU milliseconds of this process while `work` runs, its young garbage collected inside. */
async function cpuOf(work: () => Promise<unknown>): Promise<number> {
  gc();
  const before = process.cpuUsage();
  await work();
  gc({ type: "minor" });
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

async function sendMany(sender: Sender, total: number, concurrency: number, seed: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++)
        await sender.send("acme", {
          to: `customer${seed + i}@example.net`,
          subject: "Your receipt",
          text: "Thank you for your order.",
        });
    }),
  );
}

/** Per-pair measurements of both variants: `off[i]` and `on[i]` were measured one after the other. */
interface Paired {
  off: number[];
  on: number[];
}

/**
 * `pairs` pairs (after `warmup` unmeasured ones) of one block per variant, the order alternating
 * between pairs so a drift in the machine's load falls on both alike. Many short pairs rather than a
 * few long rounds: each ratio is between two blocks measured moments apart, and the median of many
 * such ratios is far steadier than that of a few.
 */
async function pairedBlocks(
  pairs: number,
  warmup: number,
  block: (which: "off" | "on") => Promise<number>,
): Promise<Paired> {
  const out: Paired = { off: [], on: [] };
  for (let pair = 0; pair < warmup + pairs; pair++) {
    const order = pair % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const);
    for (const which of order) {
      const value = await block(which);
      if (pair >= warmup) out[which].push(value);
    }
  }
  return out;
}

/** The overhead of a paired measurement: median of the per-pair ratios, its 95% interval, the range. */
function overhead(p: Paired): { median: number; interval: [number, number] | undefined; row: string[] } {
  const ratios = p.on.map((v, i) => v / (p.off[i] ?? v));
  const s = summarize(ratios);
  const interval = medianInterval(ratios);
  const pc = (r: number) => `${fmt((r - 1) * 100, 1)}%`;
  return {
    median: s.median,
    interval,
    row: [
      `${pc(s.median)}`,
      interval === undefined ? "—" : `${pc(interval[0])} … ${pc(interval[1])}`,
      `${pc(s.min)} … ${pc(s.max)}`,
    ],
  };
}

/** Alternating paired blocks of webhook ingest and of API sends, on and off. */
async function measure(on: Variant, off: Variant, client: ChildProcess, settings: Settings) {
  const { batches, sends, pairs, warmup } = settings;
  const url = `${PUBLIC_URL}/webhooks/mandrill/acme`;
  let seed = 0;
  const ingest = await pairedBlocks(pairs, warmup, async (which) => {
    const v = which === "on" ? on : off;
    seed += batches * 1000;
    // The handler runs for these events are part of ingesting them: drained inside the measurement,
    // so none is left to run (and be charged) during the next block.
    const cpu = await cpuOf(async () => {
      await ask(client, {
        run: { port: v.port, path: "/webhooks/mandrill/acme", batches, seed, key: WEBHOOK_KEY, url },
      });
      while ((await v.webhooks.runDue()) > 0);
    });
    return (cpu * 1000) / (batches * 1000);
  });
  const send = await pairedBlocks(pairs, warmup, async (which) => {
    const v = which === "on" ? on : off;
    seed += sends;
    // Send records are written in the background: flushed inside the block that made them.
    const cpu = await cpuOf(async () => {
      await sendMany(v.sender, sends, 8, seed);
      await v.sender.flush();
    });
    return cpu / sends;
  });
  return { ingest, send };
}

interface Settings {
  batches: number;
  sends: number;
  pairs: number;
  warmup: number;
}

export async function runTelemetryBenches(): Promise<Table[]> {
  const dir = mkdtempSync(join(tmpdir(), "mk-bench-otel-"));
  const sim = await startSim();
  const sdk = sdkOn();
  const client = await startPostClient();
  const load = loadavg()[0] ?? 0;
  try {
    const off = await variant(dir, "off", sim.apiUrl);
    const on = await variant(dir, "on", sim.apiUrl, sdk.metrics);
    const settings: Settings = {
      batches: Number(process.env.MK_BENCH_OTEL_BATCHES ?? 2),
      sends: Number(process.env.MK_BENCH_OTEL_SENDS ?? 250),
      pairs: Number(process.env.MK_BENCH_OTEL_PAIRS ?? 60),
      warmup: 4,
    };
    const { ingest, send } = await measure(on, off, client, settings);
    const scrape = await sdk.prometheus.collect();
    const series = scrape.resourceMetrics.scopeMetrics.flatMap((s) =>
      s.metrics.map((m) => m.descriptor.name),
    );
    await on.close();
    await off.close();
    const results = [
      { label: "webhook ingest", unit: "µs/event", p: ingest, o: overhead(ingest) },
      { label: "API send", unit: "ms/send", p: send, o: overhead(send) },
    ];
    const worst = Math.max(...results.map((r) => r.o.median));
    const { batches, sends, pairs, warmup } = settings;
    return [
      {
        title: "OpenTelemetry on beside off — CPU time per operation",
        description: `In one run, ${pairs} pairs of blocks (after ${warmup} warm-up pairs), one block "on" and one "off" per pair, in alternating order: first for ingest, each block ${batches} signed 1,000-event batches posted over loopback by a client in its own process to \`mandrillKit()\` + \`mandrillWebhooks()\` on a SQLite file (handlers for the deliverability events running meanwhile) with the handler runs they cause drained inside the block; then for sends, each block ${sends} API sends (8 in flight) to the simulator in its own process, the block's send records flushed inside it. A full GC runs before each block (not measured) and a minor GC at its end (measured: the block's young garbage, the SDK's spans among it, is charged to it). "on": \`metrics: { meterProvider, tracerProvider }\` with the Prometheus exporter as the metric reader and a trace SDK recording every span (batched to a discarding exporter); "off": no SDK (the API's no-ops). CPU time of this process (user + system) per operation. The overhead is the median of the ${pairs} per-pair ratios, with its 95% confidence interval (distribution-free: order statistics of the ratios) and the range of single pairs.`,
        headers: ["", "off (median)", "on (median)", "overhead (median)", "95% interval", "single pairs"],
        rows: results.map((r) => [
          r.label,
          `${fmt(summarize(r.p.off).median, 3)} ${r.unit}`,
          `${fmt(summarize(r.p.on).median, 3)} ${r.unit}`,
          ...r.o.row,
        ]),
        notes: [
          `Target: instrumentation costs ≤ 5% of throughput — ${worst <= 1.05 ? "met" : "NOT met"} (worst median ${fmt((worst - 1) * 100, 1)}%).`,
          `Machine load at the start: ${fmt(load, 2)} (1-minute load average; 2 cores shared with other jobs). Single pairs vary with it; the interval says how far the median itself could be off.`,
          `The scrape after the run held ${new Set(series).size} \`mandrill_kit.*\` instruments.`,
        ],
      },
    ];
  } finally {
    client.send({ exit: true });
    sim.stop();
    await sdk.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The BENCHMARKS.md section of this bench. */
export function renderTelemetrySection(tables: readonly Table[]): string {
  return ["## Instrumentation overhead (OpenTelemetry)", "", ...tables.map(renderMarkdown)].join("\n");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const tables = await runTelemetryBenches();
  for (const table of tables) printTable(table);
  replaceSection(
    new URL("../BENCHMARKS.md", import.meta.url),
    "## Instrumentation overhead (OpenTelemetry)",
    renderTelemetrySection(tables),
  );
}
