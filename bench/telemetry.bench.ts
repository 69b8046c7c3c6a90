/**
 * Instrumentation overhead (issue 18): webhook ingest and API sends with OpenTelemetry on — the metrics
 * SDK with the Prometheus reader, and that plus a trace SDK recording every span or 10% of traces —
 * beside off (no SDK: the API's no-ops), in many short rotating sets of blocks in the same run. Load clients and the simulator run in their
 * own processes, so the CPU time of this process is the kit's alone; CPU time per operation is
 * compared, because wall time on a shared 2-core machine mostly measures the neighbours.
 *
 * `pnpm tsx bench/telemetry.bench.ts` runs it alone and updates its BENCHMARKS.md section.
 * MK_BENCH_OTEL_SETS (200), MK_BENCH_OTEL_BATCHES (batches per ingest block, 2) and
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
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
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

/**
 * An SDK as a host would install it: a MeterProvider with the Prometheus reader (what issue 18 names),
 * and with `traces` also a trace SDK: recording every span (`"all"`, the worst case) or sampling 10% of
 * traces (`"sampled"`: parent-based, root spans by trace id ratio, as production hosts commonly do).
 */
function sdkOn(traces: "none" | "all" | "sampled"): {
  metrics: MetricsOptions;
  prometheus: PrometheusExporter;
  shutdown(): Promise<void>;
} {
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [prometheus] });
  const sampler =
    traces === "sampled" ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) }) : undefined;
  const tracerProvider =
    traces === "none"
      ? undefined
      : new BasicTracerProvider({
          ...(sampler === undefined ? {} : { sampler }),
          spanProcessors: [new BatchSpanProcessor(DISCARD)],
        });
  return {
    // Without a tracerProvider the kit takes the global one: the API's no-op (none is registered here).
    metrics: tracerProvider === undefined ? { meterProvider } : { meterProvider, tracerProvider },
    prometheus,
    shutdown: async () => {
      await meterProvider.shutdown();
      await tracerProvider?.shutdown();
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
  // Each block drains the handler runs its batches caused (runDue) inside its own measurement. A
  // short poll interval would add every idle variant's empty polls to whichever block is running:
  // measured at about 7 ms of CPU per second per idle kit polling every 100 ms (43 ms for six), 4–10% of a
  // block's CPU landing at random — noise on every ratio. So the periodic poll stays out of the way.
  const webhooks = mandrillWebhooks({ pollIntervalMs: 60_000 });
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

/** The variants measured: no SDK, the metrics SDK, the metrics and trace SDKs (every span, 10% sampled). */
const VARIANTS = ["off", "metrics", "traces", "sampled"] as const;
type Which = (typeof VARIANTS)[number];

/** Per-set measurements: `[which][i]` of the i-th set, whose blocks ran one after the other. */
type Sets = Record<Which, number[]>;

/**
 * The order of the variants in set `set`: the rows of a Williams square (for an even count), so each
 * variant is as often first, second, third and last, and follows each other variant equally often.
 * Merely rotating one order would keep every variant behind the same predecessor, so whatever a block
 * leaves behind (a span batch exported, a checkpoint still running) would always fall on the same one.
 */
function setOrder(set: number): Which[] {
  const n = VARIANTS.length;
  const first = [0];
  for (let lo = 1, hi = n - 1; first.length < n; ) first.push(first.length % 2 === 1 ? lo++ : hi--);
  return first.map((v) => VARIANTS[(v + set) % n] as Which);
}

/**
 * `sets` sets (after `warmup` unmeasured ones) of one block per variant, in {@link setOrder}, so a
 * drift in the machine's load falls on all alike. Many short sets rather than a few long rounds: each
 * ratio is between blocks measured moments apart, and the median of many such ratios is far steadier
 * than that of a few.
 */
async function blockSets(
  sets: number,
  warmup: number,
  block: (which: Which) => Promise<number>,
): Promise<Sets> {
  const out: Sets = { off: [], metrics: [], traces: [], sampled: [] };
  for (let set = 0; set < warmup + sets; set++) {
    for (const which of setOrder(set)) {
      const value = await block(which);
      if (set >= warmup) out[which].push(value);
    }
  }
  return out;
}

/** The overhead of `which` over "off": median of the per-set ratios, its 95% interval, the range. */
function overhead(p: Sets, which: Which): { median: number; row: string[] } {
  const ratios = p[which].map((v, i) => v / (p.off[i] ?? v));
  const s = summarize(ratios);
  const interval = medianInterval(ratios);
  const pc = (r: number) => `${fmt((r - 1) * 100, 1)}%`;
  return {
    median: s.median,
    row: [
      pc(s.median),
      interval === undefined ? "—" : `${pc(interval[0])} … ${pc(interval[1])}`,
      `${pc(s.min)} … ${pc(s.max)}`,
    ],
  };
}

/** Rotating sets of blocks of webhook ingest, then of API sends, one block per variant in each set. */
async function measure(variants: Record<Which, Variant>, client: ChildProcess, settings: Settings) {
  const { batches, sends, sets, warmup } = settings;
  const url = `${PUBLIC_URL}/webhooks/mandrill/acme`;
  let seed = 0;
  const ingest = await blockSets(sets, warmup, async (which) => {
    const v = variants[which];
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
  const send = await blockSets(sets, warmup, async (which) => {
    seed += sends;
    // Send records are written in the background: flushed inside the block that made them.
    const cpu = await cpuOf(async () => {
      await sendMany(variants[which].sender, sends, 8, seed);
      await variants[which].sender.flush();
    });
    return cpu / sends;
  });
  return { ingest, send };
}

interface Settings {
  batches: number;
  sends: number;
  sets: number;
  warmup: number;
}

/** The table of a run (see {@link measure}). */
function overheadTable(
  results: { label: string; unit: string; p: Sets }[],
  settings: Settings,
  load: number,
  instruments: number,
): Table {
  const { batches, sends, sets, warmup } = settings;
  const rows: string[][] = [];
  const verdicts: string[] = [];
  const names = {
    metrics: ["metrics", "metrics SDK + Prometheus reader"],
    traces: ["metrics + every span", "with every span recorded as well"],
    sampled: ["metrics + 10% of traces", "with 10% of traces sampled"],
  } as const;
  for (const which of ["metrics", "traces", "sampled"] as const) {
    const worst = Math.max(...results.map((r) => overhead(r.p, which).median));
    verdicts.push(
      `${names[which][1]}: ${worst <= 1.05 ? "met" : "NOT met"} (worst median ${fmt((worst - 1) * 100, 2)}%)`,
    );
    for (const r of results)
      rows.push([
        `${r.label}, ${names[which][0]}`,
        `${fmt(summarize(r.p.off).median, 3)} ${r.unit}`,
        `${fmt(summarize(r.p[which]).median, 3)} ${r.unit}`,
        ...overhead(r.p, which).row,
      ]);
  }
  return {
    title: "OpenTelemetry on beside off — CPU time per operation",
    description: `In one run, ${sets} sets of blocks (after ${warmup} warm-up sets), one block per variant in each set, in the orders of a Williams square (each variant as often in each position, and after each other variant): first for ingest, each block ${batches} signed 1,000-event batches posted over loopback by a client in its own process to \`mandrillKit()\` + \`mandrillWebhooks()\` on a SQLite file (handlers for the deliverability events running meanwhile) with the handler runs they cause drained inside the block; then for sends, each block ${sends} API sends (8 in flight) to the simulator in its own process, the block's send records flushed inside it. A full GC runs before each block (not measured) and a minor GC at its end (measured: the block's young garbage, the SDK's spans among it, is charged to it). Variants, each its own kit in this process: "off", no SDK (the API's no-ops); "metrics", \`metrics: { meterProvider }\` with the Prometheus exporter as the metric reader (the configuration issue 18 names); "metrics + every span", also \`tracerProvider\`: a trace SDK recording every span (no sampling), batched to a discarding exporter; "metrics + 10% of traces", the same with \`ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) })\` (the kit's spans here have no incoming parent, so one trace in ten is recorded). CPU time of this process (user + system) per operation. The overhead is the median of the ${sets} per-set ratios to "off", with its 95% confidence interval (distribution-free: order statistics of the ratios) and the range of single sets.`,
    headers: ["", "off (median)", "on (median)", "overhead (median)", "95% interval", "single sets"],
    rows,
    notes: [
      `Target: instrumentation costs ≤ 5% of throughput — ${verdicts.join("; ")}.`,
      `Machine load at the start: ${fmt(load, 2)} (1-minute load average; 2 cores shared with other jobs). Single sets vary with it; the interval says how far the median itself could be off.`,
      `The scrape after the run held ${instruments} \`mandrill_kit.*\` instruments.`,
    ],
  };
}

export async function runTelemetryBenches(): Promise<Table[]> {
  const dir = mkdtempSync(join(tmpdir(), "mk-bench-otel-"));
  const sim = await startSim();
  const sdks = { metrics: sdkOn("none"), traces: sdkOn("all"), sampled: sdkOn("sampled") };
  const client = await startPostClient();
  const load = loadavg()[0] ?? 0;
  try {
    const variants: Record<Which, Variant> = {
      off: await variant(dir, "off", sim.apiUrl),
      metrics: await variant(dir, "metrics", sim.apiUrl, sdks.metrics.metrics),
      traces: await variant(dir, "traces", sim.apiUrl, sdks.traces.metrics),
      sampled: await variant(dir, "sampled", sim.apiUrl, sdks.sampled.metrics),
    };
    const settings: Settings = {
      batches: Number(process.env.MK_BENCH_OTEL_BATCHES ?? 2),
      sends: Number(process.env.MK_BENCH_OTEL_SENDS ?? 250),
      sets: Number(process.env.MK_BENCH_OTEL_SETS ?? 200),
      warmup: 3,
    };
    const { ingest, send } = await measure(variants, client, settings);
    const scrape = await sdks.traces.prometheus.collect();
    const series = scrape.resourceMetrics.scopeMetrics.flatMap((s) =>
      s.metrics.map((m) => m.descriptor.name),
    );
    for (const v of Object.values(variants)) await v.close();
    const results = [
      { label: "webhook ingest", unit: "µs/event", p: ingest },
      { label: "API send", unit: "ms/send", p: send },
    ];
    return [overheadTable(results, settings, load, new Set(series).size)];
  } finally {
    client.send({ exit: true });
    sim.stop();
    for (const sdk of Object.values(sdks)) await sdk.shutdown();
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
