/**
 * Sustained webhook ingest (issue 19): ≥ 100 signed 1,000-event batches per measured run, 2 in flight,
 * from a load client in its own process, against servers that each run in a process of their own:
 *
 * - the kit: the example server (examples/server/src/main.ts, unchanged) with MANDRILL_SIMULATOR=off,
 *   on SQLite in a temporary DATA_DIR, and the same server on PostgreSQL (DATABASE_URL, a fresh schema);
 * - two example-server processes on that one PostgreSQL schema, the load split between them;
 * - the hand-rolled Express route of issue 19 (bench/contenders/hand-rolled-server.ts);
 * - the bare decode + parse floor (bench/contenders/bare-server.ts).
 *
 * Every run measures every contender once, in rotating order; ratios are taken within a run. The CPU
 * time of each process (servers, client, PostgreSQL) is read from /proc/<pid>/stat around each run.
 *
 * Run alone: `pnpm tsx bench/ingest-sustained.bench.ts` (also runs the cost breakdown and rewrites
 * this section of BENCHMARKS.md). Sizes: MK_BENCH_SUSTAINED_BATCHES (100), MK_BENCH_SUSTAINED_RUNS (5).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { runIngestBreakdown } from "./ingest-breakdown.bench.js";
import {
  databaseUrl,
  describeTarget,
  dropSchemas,
  postgresUnavailable,
  withClient,
  withParam,
} from "./lib/postgres.js";
import {
  cpuBetween,
  machineCpuMs,
  mainThreadCpuMs,
  pidsNamed,
  processCpuMs,
  snapshotCpu,
} from "./lib/proc-cpu.js";
import { printTable, renderMarkdown, replaceSection, type Table } from "./lib/report.js";
import {
  ask,
  KIT_CALLBACK_URL,
  KIT_PATH,
  KIT_PUBLIC_URL,
  KIT_WEBHOOK_KEY,
  type ServerProcess,
  startContender,
  startKit,
  startPostClient,
} from "./lib/server-process.js";
import { fmt, summarize } from "./lib/stats.js";

export const SUSTAINED_SECTION = "## Sustained webhook ingest (issue 19)";

const IN_FLIGHT = 2;

interface BlastResult {
  ms: number;
  perBatch: number[];
  bytes: number;
  cpuMs: number;
}

/** One contender's measurement in one run. */
interface Measured {
  eventsPerSec: number;
  perBatch: number[];
  serverCpuMs: number;
  /** The servers' main (JavaScript) threads alone. */
  mainCpuMs: number;
  clientCpuMs: number;
  /** CPU of the PostgreSQL backends serving this contender's connections (application_name). */
  pgOursMs: number;
  /** CPU of every `postgres` process (walwriter, checkpointer, other users' sessions included). */
  pgAllMs: number;
  /** Machine busy time not accounted for by the above (other helpers' work), in cores. */
  otherCores: number;
  /** The posts plus the drain: the window the CPU figures cover. */
  wallMs: number;
  /** How long the servers (and PostgreSQL) stayed busy after the last answer. */
  drainMs: number;
}

interface Contender {
  id: "kit" | "hand" | "floor" | "pg1" | "pg2";
  label: string;
  servers: ServerProcess[];
  /** Body set: "a" for every contender on its own database, "b" for the second run on the PostgreSQL schema. */
  slot: "a" | "b";
  pgApp?: string;
}

/**
 * Waits until the processes are idle (under 10% of a core over two 200 ms windows in a row, 60 s at
 * most) and resolves with how long that took.
 */
async function settle(pids: readonly number[]): Promise<number> {
  const start = performance.now();
  let quiet = 0;
  while (quiet < 2 && performance.now() - start < 60_000) {
    const before = snapshotCpu(pids);
    await new Promise((r) => setTimeout(r, 200));
    quiet = cpuBetween(before, snapshotCpu(pids)) < 20 ? quiet + 1 : 0;
  }
  // The two quiet windows are not work: do not count them.
  return Math.max(0, performance.now() - start - 400);
}

function envNumber(name: string, fallback: number, min: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v >= min ? Math.floor(v) : fallback;
}

async function backendPids(url: string, app: string): Promise<number[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
      [app],
    );
    return rows.map((r) => r.pid);
  });
}

export interface SustainedResult {
  tables: Table[];
  /** The kit server's (SQLite) mean CPU milliseconds per batch over the measured runs. */
  kitServerCpuMsPerBatch: number;
  /** The same, its main thread alone. */
  kitMainThreadCpuMsPerBatch: number;
}

export async function runIngestSustainedBenches(): Promise<SustainedResult> {
  const batches = envNumber("MK_BENCH_SUSTAINED_BATCHES", 100, 1);
  const runs = envNumber("MK_BENCH_SUSTAINED_RUNS", 5, 1);
  const warmupBatches = Math.min(30, batches);
  const dir = mkdtempSync(join(tmpdir(), "mk-bench-sustained-"));
  const url = databaseUrl();
  const pgDown = await postgresUnavailable(url);
  const stamp = `${process.pid}_${Date.now().toString(36)}`;
  const schema = `mk_bench_sustained_${stamp}`;
  const pgApp = `mk_bench_${stamp}`;
  const started: ServerProcess[] = [];
  let client: ChildProcess | undefined;
  const loadBefore = loadavg()[0] ?? Number.NaN;
  try {
    const kit = await startKit({ dataDir: join(dir, "kit") });
    started.push(kit);
    const hand = await startContender("hand-rolled-server.ts", {
      DB_FILE: join(dir, "hand-rolled.db"),
      WEBHOOK_KEY: KIT_WEBHOOK_KEY,
      PUBLIC_URL: KIT_PUBLIC_URL,
    });
    started.push(hand);
    const floor = await startContender("bare-server.ts");
    started.push(floor);
    const contenders: Contender[] = [
      { id: "kit", label: "kit: example server → SQLite", servers: [kit], slot: "a" },
      { id: "hand", label: "hand-rolled Express route → SQLite", servers: [hand], slot: "a" },
      { id: "floor", label: "floor: bare node:http decode + JSON.parse", servers: [floor], slot: "a" },
    ];
    if (pgDown === undefined) {
      const database = { url: withParam(url, "application_name", pgApp), schema };
      // One at a time: the first creates the schema, the second finds it migrated.
      const pgA = await startKit({ dataDir: join(dir, "pg-a"), database });
      started.push(pgA);
      const pgB = await startKit({ dataDir: join(dir, "pg-b"), database, save: false });
      started.push(pgB);
      contenders.push(
        { id: "pg1", label: "kit: example server → PostgreSQL", servers: [pgA], slot: "a", pgApp },
        {
          id: "pg2",
          label: "kit: 2 example servers → one PostgreSQL",
          servers: [pgA, pgB],
          slot: "b",
          pgApp,
        },
      );
    }

    client = await startPostClient();
    const c = client;
    const prepare = (slot: string, seed: number, n: number) =>
      ask<{ bytes: number }>(c, {
        prepare: { slot, batches: n, seed, key: KIT_WEBHOOK_KEY, url: KIT_CALLBACK_URL },
      });

    const measure = async (contender: Contender): Promise<Measured> => {
      const serverPids = contender.servers.map((s) => s.pid);
      const ours = contender.pgApp === undefined ? [] : await backendPids(url, contender.pgApp);
      const pgAll = contender.pgApp === undefined ? [] : pidsNamed("postgres");
      const mainThreads = () => serverPids.reduce((sum, pid) => sum + mainThreadCpuMs(pid), 0);
      const before = {
        server: snapshotCpu(serverPids),
        main: mainThreads(),
        client: processCpuMs(c.pid as number),
        ours: snapshotCpu(ours),
        all: snapshotCpu(pgAll),
        machine: machineCpuMs(),
      };
      const r = await ask<BlastResult>(c, {
        blast: {
          slot: contender.slot,
          targets: contender.servers.map((s) => ({ port: s.port, path: KIT_PATH })),
          inFlight: IN_FLIGHT,
        },
      });
      // Work the server still does after its last answer (the dispatcher catching up with the queue)
      // belongs to this contender: wait until it and PostgreSQL are idle before reading the CPU.
      const drainMs = await settle([
        ...serverPids,
        ...(contender.pgApp === undefined ? [] : await backendPids(url, contender.pgApp)),
      ]);
      const machine = machineCpuMs();
      const serverCpuMs = cpuBetween(before.server, snapshotCpu(serverPids));
      const mainCpuMs = mainThreads() - before.main;
      const clientCpuMs = processCpuMs(c.pid as number) - before.client;
      const pgOursMs =
        contender.pgApp === undefined
          ? 0
          : cpuBetween(before.ours, snapshotCpu(await backendPids(url, contender.pgApp)));
      const pgAllMs =
        contender.pgApp === undefined ? 0 : cpuBetween(before.all, snapshotCpu(pidsNamed("postgres")));
      const busy = machine.busy - before.machine.busy;
      return {
        eventsPerSec: (r.perBatch.length * 1000) / (r.ms / 1000),
        perBatch: r.perBatch,
        serverCpuMs,
        mainCpuMs,
        clientCpuMs,
        pgOursMs,
        pgAllMs,
        otherCores:
          (busy - serverCpuMs - clientCpuMs - (contender.pgApp === undefined ? 0 : pgAllMs)) /
          (r.ms + drainMs),
        wallMs: r.ms + drainMs,
        drainMs,
      };
    };

    // Warm-up: every contender once (JIT, page cache, pools), not measured.
    await prepare("a", 1_000_000_000, warmupBatches);
    await prepare("b", 1_500_000_000, warmupBatches);
    for (const contender of contenders) await measure(contender);

    const results = new Map<Contender["id"], Measured[]>(contenders.map((x) => [x.id, []]));
    let bodyBytes = 0;
    for (let run = 0; run < runs; run++) {
      // Fresh events every run: set "a" for the contenders with a database of their own, "b" for the
      // second contender on the shared PostgreSQL schema (its events must be new there too).
      bodyBytes = (await prepare("a", run * 2 * batches * 1000, batches)).bytes;
      await prepare("b", (run * 2 + 1) * batches * 1000, batches);
      const order = contenders.map((_, i) => contenders[(i + run) % contenders.length] as Contender);
      for (const contender of order) results.get(contender.id)?.push(await measure(contender));
    }
    const loadAfter = loadavg()[0] ?? Number.NaN;
    const kitRuns = results.get("kit") ?? [];
    return {
      tables: report(contenders, results, {
        batches,
        runs,
        warmupBatches,
        bodyBytes,
        loadBefore,
        loadAfter,
        pgDown,
        url,
      }),
      kitServerCpuMsPerBatch:
        kitRuns.reduce((s, m) => s + m.serverCpuMs / m.perBatch.length, 0) / Math.max(1, kitRuns.length),
      kitMainThreadCpuMsPerBatch:
        kitRuns.reduce((s, m) => s + m.mainCpuMs / m.perBatch.length, 0) / Math.max(1, kitRuns.length),
    };
  } finally {
    if (client !== undefined) {
      client.send({ exit: true });
    }
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    if (pgDown === undefined) await dropSchemas(url, [schema]);
  }
}

interface ReportContext {
  batches: number;
  runs: number;
  warmupBatches: number;
  bodyBytes: number;
  loadBefore: number;
  loadAfter: number;
  pgDown: string | undefined;
  url: string;
}

/** Above this much other load (in cores, on average) a run is too noisy to claim a target from. */
const QUIET_CORES = 0.25;

/**
 * "met" only when every run met it on a quiet machine; a median over the target with a run under it,
 * or runs under other load, are not claimed.
 */
function verdict(values: number[], target: number, otherCores: number): string {
  const s = summarize(values);
  const range = `${fmt(s.median, 2)}×, runs ${fmt(s.min, 2)}–${fmt(s.max, 2)}×`;
  if (s.min >= target && otherCores <= QUIET_CORES) return `met in every run (${range})`;
  if (s.min >= target)
    return `every run over the target (${range}) but with ${fmt(otherCores, 2)} cores of other load: not claimed`;
  if (s.median >= target) return `NOT established: median over the target but not every run (${range})`;
  return `NOT met (${range})`;
}

function report(
  contenders: Contender[],
  results: Map<Contender["id"], Measured[]>,
  ctx: ReportContext,
): Table[] {
  const get = (id: Contender["id"]) => results.get(id) ?? [];
  const isPg = (id: Contender["id"]) => contenders.find((c) => c.id === id)?.pgApp !== undefined;
  /** CPU per batch of what serves it: the server process(es), plus PostgreSQL for the kit on it. */
  const cpuPerBatch = (id: Contender["id"], m: Measured) =>
    (m.serverCpuMs + (isPg(id) ? m.pgAllMs : 0)) / m.perBatch.length;
  const perRun = (a: Contender["id"], b: Contender["id"]) =>
    get(a).map((m, i) => m.eventsPerSec / (get(b)[i]?.eventsPerSec ?? Number.NaN));
  const perRunCpu = (a: Contender["id"], b: Contender["id"]) =>
    get(a).map((m, i) => {
      const other = get(b)[i];
      return other === undefined ? Number.NaN : cpuPerBatch(b, other) / cpuPerBatch(a, m);
    });
  const rate = (id: Contender["id"]) => summarize(get(id).map((m) => m.eventsPerSec));
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  const otherLoad = (...ids: Contender["id"][]) =>
    mean(ids.flatMap((id) => get(id).map((m) => m.otherCores)));

  const throughputRows = contenders.map((c) => {
    const s = rate(c.id);
    const lat = summarize(get(c.id).flatMap((m) => m.perBatch));
    return [
      c.label,
      fmt(s.median, 0),
      fmt(s.min, 0),
      fmt(s.max, 0),
      `${fmt(s.spread * 100, 0)}%`,
      fmt(lat.median, 1),
      fmt(lat.p99, 1),
    ];
  });

  const ratioRows: string[][] = [];
  const notes: string[] = [];
  const ratio = (
    label: string,
    a: Contender["id"],
    b: Contender["id"],
    target?: { min: number; what: string },
    byCpu = true,
  ) => {
    const values = perRun(a, b);
    const s = summarize(values);
    const cpu = summarize(perRunCpu(a, b));
    ratioRows.push([
      label,
      fmt(s.median, 2),
      fmt(s.min, 2),
      fmt(s.max, 2),
      byCpu ? `${fmt(cpu.median, 2)} (${fmt(cpu.min, 2)}–${fmt(cpu.max, 2)})` : "—",
      target === undefined ? "—" : `≥ ${target.min}×`,
    ]);
    if (target !== undefined) notes.push(`${target.what}: ${verdict(values, target.min, otherLoad(a, b))}.`);
  };
  ratio("kit / hand-rolled route", "kit", "hand", { min: 1.5, what: "Kit ≥ 1.5× the hand-rolled route" });
  ratio("kit / decode + parse floor", "kit", "floor", { min: 0.5, what: "Kit ≥ 0.5× the floor" });
  ratio("hand-rolled / floor", "hand", "floor");
  if (ctx.pgDown === undefined) {
    ratio("kit on PostgreSQL / kit on SQLite", "pg1", "kit", {
      min: 0.5,
      what: "PostgreSQL ≥ 0.5× SQLite, over HTTP (the stores alone are compared in the PostgreSQL section)",
    });
    ratio(
      "2 processes / 1 process, PostgreSQL",
      "pg2",
      "pg1",
      { min: 1.6, what: "Two processes ≥ 1.6× one" },
      false,
    );
  }

  const cpuRows = contenders.map((c) => {
    const m = get(c.id);
    const perBatch = (f: (x: Measured) => number) => fmt(mean(m.map((x) => f(x) / x.perBatch.length)), 1);
    const pg = c.pgApp !== undefined;
    return [
      c.label,
      perBatch((x) => x.serverCpuMs),
      perBatch((x) => x.mainCpuMs),
      perBatch((x) => x.clientCpuMs),
      pg ? perBatch((x) => x.pgOursMs) : "—",
      pg ? perBatch((x) => x.pgAllMs) : "—",
      pg ? fmt(mean(m.map((x) => x.pgAllMs / x.wallMs)), 2) : "—",
      fmt(mean(m.map((x) => (x.serverCpuMs + x.clientCpuMs + (pg ? x.pgAllMs : 0)) / x.wallMs)), 2),
      fmt(mean(m.map((x) => x.otherCores)), 2),
      fmt(mean(m.map((x) => x.drainMs)), 0),
    ];
  });

  const target = describeTarget(ctx.url);
  const description = `Each run posts ${ctx.batches} signed batches (1,000 realistic events, ~720 bytes each, 2% hard bounces; ${(ctx.bodyBytes / 1e6).toFixed(2)} MB form-encoded) to each contender with ${IN_FLIGHT} requests in flight, from a load client in its own process over keep-alive loopback connections; every contender is a server process of its own. Kit: the example server (\`examples/server/src/main.ts\`, MANDRILL_SIMULATOR=off, its handlers for hard_bounce/spam/unsub/reject registered, no skipHandlersFor) on SQLite in a temporary DATA_DIR, and on PostgreSQL (${target}, a fresh schema). Hand-rolled: \`bench/contenders/hand-rolled-server.ts\` (issue 19's route: express.urlencoded, HMAC-SHA1 + timingSafeEqual, JSON.parse, one better-sqlite3 transaction, WAL + synchronous=FULL, INSERT OR IGNORE of each event with its JSON, as the kit keeps each raw event, + suppression upserts). Floor: \`bench/contenders/bare-server.ts\` (read, URLSearchParams, JSON.parse, 200). Two processes: two example servers on the one PostgreSQL schema, each in-flight slot bound to one of them, batches taken from one queue. ${ctx.runs} runs after a ${ctx.warmupBatches}-batch warm-up of each; contenders in rotating order; every event new to its database. Latency is per batch as the client saw it.`;

  const tables: Table[] = [
    {
      title: `Sustained ingest — ${ctx.batches} × 1,000-event batches per run, ${IN_FLIGHT} in flight`,
      description,
      headers: ["", "median events/s", "min", "max", "spread", "p50 ms/batch", "p99 ms/batch"],
      rows: throughputRows,
      notes: [],
    },
    {
      title: "Sustained ingest — ratios within each run",
      description: `Each ratio is taken between two contenders measured in the same run (one after the other), then summarised over the runs. "By CPU per batch" is the inverse ratio of the CPU each used per batch (server process, plus PostgreSQL for the kit on it; table below): how much work each does, which other load on the machine disturbs far less than events/s. A target counts as met only when every run meets it and the machine was quiet (other load ≤ ${QUIET_CORES} cores on average).`,
      headers: ["ratio", "median", "min", "max", "by CPU per batch: median (min–max)", "target"],
      rows: ratioRows,
      notes,
    },
    {
      title: "Sustained ingest — CPU per batch (from /proc/<pid>/stat)",
      description:
        "User + system CPU of each process over each run, from /proc/<pid>/stat (10 ms ticks; all threads), divided by the batches posted; each window runs from the first post until the server(s) and PostgreSQL are idle again (“drain”: how long they kept working after the last answer, e.g. a dispatcher catching up with its queue — that work is counted); “main thread” from /proc/<pid>/task/<pid>/stat (the JavaScript thread; the rest is GC, compiler and libuv threads). PostgreSQL “ours”: the backends whose application_name is this bench's (found in pg_stat_activity before and after each run); “all”: every process named postgres (WAL writer, checkpointer and other sessions on this server included), also as cores busy on average. “Cores, ours”: server(s) + client + PostgreSQL (all), averaged over the run. “Other load”: the machine's busy time (/proc/stat) minus those, in cores — work of other processes sharing this 2-core machine, the noise of the run.",
      headers: [
        "",
        "server ms/batch",
        "of which main thread",
        "client ms/batch",
        "PostgreSQL ours ms/batch",
        "PostgreSQL all ms/batch",
        "PostgreSQL cores",
        "cores, ours",
        "other load (cores)",
        "drain ms",
      ],
      rows: cpuRows,
      notes: [
        `1-minute load average ${fmt(ctx.loadBefore, 2)} before and ${fmt(ctx.loadAfter, 2)} after the runs. Hardware instruction counters are not available on this virtual machine (perf reports them unsupported), so CPU time per batch is the less noise-sensitive measure here; events/s depend on the other load.`,
        ...(ctx.pgDown === undefined
          ? []
          : [`PostgreSQL skipped: not reachable at ${target} (${ctx.pgDown}).`]),
      ],
    },
  ];
  return tables;
}

/** The section of BENCHMARKS.md: the sustained tables and the cost breakdown. */
export function renderSustainedSection(sustained: Table[], breakdown: Table[], alone = false): string {
  const cpu = cpus();
  const intro = alone
    ? `Measured on ${new Date().toISOString().slice(0, 10)} by \`pnpm tsx bench/ingest-sustained.bench.ts\` (this section alone; \`pnpm bench\` runs it with the rest), on ${cpu[0]?.model ?? "?"} × ${cpu.length} cores, Node ${process.version}.`
    : "Part of this `pnpm bench` run; `pnpm tsx bench/ingest-sustained.bench.ts` runs this section alone and rewrites it here.";
  return [
    SUSTAINED_SECTION,
    "",
    intro,
    "",
    ...sustained.map(renderMarkdown),
    ...breakdown.map(renderMarkdown),
  ].join("\n");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { tables: sustained, ...reference } = await runIngestSustainedBenches();
  for (const t of sustained) printTable(t);
  const breakdown = await runIngestBreakdown(reference);
  for (const t of breakdown) printTable(t);
  replaceSection(
    new URL("../BENCHMARKS.md", import.meta.url),
    SUSTAINED_SECTION,
    renderSustainedSection(sustained, breakdown, true),
    "## Webhooks (`@mandrill-kit/webhooks`)",
  );
  process.stdout.write("\nRewrote the sustained-ingest section of BENCHMARKS.md\n");
}
