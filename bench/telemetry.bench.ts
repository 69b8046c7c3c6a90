/**
 * Instrumentation overhead (issue 18): webhook ingest and API sends with OpenTelemetry on (metrics SDK
 * with the Prometheus reader, trace SDK recording every span) beside off (no SDK: the API's no-ops),
 * alternating rounds in the same run. Load clients and the simulator run in their own processes, so
 * the CPU time of this process is the kit's alone; CPU time per operation is compared, because wall
 * time on a shared 2-core machine mostly measures the neighbours.
 *
 * `pnpm tsx bench/telemetry.bench.ts` runs it alone and updates its BENCHMARKS.md section.
 */
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
import { fmt, summarize } from "./lib/stats.js";
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
 * A full garbage collection, so one round's garbage is not collected (and charged) in the next round,
 * which may be the other variant's. `--expose-gc` turned on from inside: `pnpm bench` passes no flags.
 */
const collectGarbage: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

/** CPU milliseconds of this process while `work` runs (after a full GC, outside the measurement). */
async function cpuOf(work: () => Promise<unknown>): Promise<number> {
  collectGarbage();
  const before = process.cpuUsage();
  await work();
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

function overheadRow(label: string, unit: string, off: number[], on: number[]): string[] {
  const a = summarize(off);
  const b = summarize(on);
  const ratios = summarize(on.map((v, i) => v / (off[i] ?? v)));
  return [
    label,
    `${fmt(a.median, 3)} ${unit}`,
    `${fmt(b.median, 3)} ${unit}`,
    `${fmt((ratios.median - 1) * 100, 1)}%`,
    `${fmt((ratios.min - 1) * 100, 1)}% … ${fmt((ratios.max - 1) * 100, 1)}%`,
  ];
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
    const url = `${PUBLIC_URL}/webhooks/mandrill/acme`;
    // Rounds long enough that one round's CPU time is mostly the work measured, not timer noise.
    const batches = Number(process.env.MK_BENCH_OTEL_BATCHES ?? 10);
    const sends = Number(process.env.MK_BENCH_OTEL_SENDS ?? 500);
    const rounds = Number(process.env.MK_BENCH_OTEL_ROUNDS ?? 10);
    const warmup = 2;
    const ingest = { off: [] as number[], on: [] as number[] };
    const send = { off: [] as number[], on: [] as number[] };
    let seed = 0;
    for (let round = 0; round < warmup + rounds; round++) {
      // Alternate which goes first, so drift in the machine's load falls on both alike.
      const order = round % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const);
      for (const which of order) {
        const v = which === "on" ? on : off;
        seed += batches * 1000;
        // The handler runs for these events are part of ingesting them: drained inside the measurement,
        // so none is left to run (and be charged) during the next round.
        const ingestCpu = await cpuOf(async () => {
          await ask(client, {
            run: { port: v.port, path: "/webhooks/mandrill/acme", batches, seed, key: WEBHOOK_KEY, url },
          });
          while ((await v.webhooks.runDue()) > 0);
        });
        // Send records are written in the background: flushed inside the round that made them.
        const sendCpu = await cpuOf(async () => {
          await sendMany(v.sender, sends, 8, seed);
          await v.sender.flush();
        });
        if (round >= warmup) {
          ingest[which].push((ingestCpu * 1000) / (batches * 1000));
          send[which].push(sendCpu / sends);
        }
      }
    }
    const scrape = await sdk.prometheus.collect();
    const series = scrape.resourceMetrics.scopeMetrics.flatMap((s) =>
      s.metrics.map((m) => m.descriptor.name),
    );
    await on.close();
    await off.close();
    const worst = Math.max(
      summarize(ingest.on.map((v, i) => v / (ingest.off[i] ?? v))).median,
      summarize(send.on.map((v, i) => v / (send.off[i] ?? v))).median,
    );
    return [
      {
        title: "OpenTelemetry on beside off — CPU time per operation",
        description: `In one run, ${rounds} alternating rounds (after ${warmup} warm-ups) of: ${batches} signed 1,000-event batches posted over loopback by a client in its own process to \`mandrillKit()\` + \`mandrillWebhooks()\` on a SQLite file (handlers for the deliverability events running meanwhile), with the handler runs they cause drained inside the round, then ${sends} API sends (8 in flight) to the simulator in its own process. Each round's send records are flushed and a full GC runs before each measurement, so no round pays for another's writes or garbage. "on": \`metrics: { meterProvider, tracerProvider }\` with the Prometheus exporter as the metric reader and a trace SDK recording every span (batched to a discarding exporter); "off": no SDK (the API's no-ops). CPU time of this process (user + system) per operation; the overhead is the median of the per-round ratios.`,
        headers: ["", "off", "on", "overhead (median)", "per-round range"],
        rows: [
          overheadRow("webhook ingest", "µs/event", ingest.off, ingest.on),
          overheadRow("API send", "ms/send", send.off, send.on),
        ],
        notes: [
          `Target: instrumentation costs ≤ 5% of throughput — ${worst <= 1.05 ? "met" : "NOT met"} (worst median ${fmt((worst - 1) * 100, 1)}%).`,
          `Machine load at the start: ${fmt(load, 2)} (1-minute load average; 2 cores shared with other jobs), so single rounds vary; medians of alternating rounds cancel most of that drift.`,
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
