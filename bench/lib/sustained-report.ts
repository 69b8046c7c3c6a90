/**
 * The sustained-ingest bench's report (issue 19): its measurement types, the throughput, ratio and
 * CPU-per-batch tables, and the verdict on each target. Split from bench/ingest-sustained.bench.ts.
 */
import { describeTarget } from "./postgres.js";
import type { Table } from "./report.js";
import type { ServerProcess } from "./server-process.js";
import { fmt, summarize } from "./stats.js";

/** Requests in flight from the load client. */
export const IN_FLIGHT = 2;

/** One contender's measurement in one run. */
export interface Measured {
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

export interface Contender {
  id: "kit" | "hand" | "floor" | "pg1" | "pg2" | "base" | "pgbase";
  label: string;
  servers: ServerProcess[];
  /** Body set: "a" for every contender on its own database, "b" for the second run on the PostgreSQL schema. */
  slot: "a" | "b";
  pgApp?: string;
}

export interface ReportContext {
  batches: number;
  runs: number;
  warmupBatches: number;
  /** Unmeasured batches posted to each contender right before each of its measured runs. */
  rewarmBatches: number;
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

export function report(
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
    if (get(a).length === 0 || get(b).length === 0) return; // a contender left out (MK_BENCH_SUSTAINED_ONLY)
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
  // With MK_BENCH_BASELINE_DIR: this checkout against another one, in the same runs.
  ratio("kit / baseline kit, SQLite", "kit", "base");
  ratio("kit / baseline kit, PostgreSQL", "pg1", "pgbase");
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
  const description = `Each run posts ${ctx.batches} signed batches (1,000 realistic events, ~720 bytes each, 2% hard bounces; ${(ctx.bodyBytes / 1e6).toFixed(2)} MB form-encoded) to each contender with ${IN_FLIGHT} requests in flight, from a load client in its own process over keep-alive loopback connections; every contender is a server process of its own. Kit: the example server (\`examples/server/src/main.ts\`, MANDRILL_SIMULATOR=off, its handlers for hard_bounce/spam/unsub/reject registered, no skipHandlersFor) on SQLite in a temporary DATA_DIR, and on PostgreSQL (${target}, a fresh schema). Hand-rolled: \`bench/contenders/hand-rolled-server.ts\` (issue 19's route: express.urlencoded, HMAC-SHA1 + timingSafeEqual, JSON.parse, one better-sqlite3 transaction, WAL + synchronous=FULL, INSERT OR IGNORE of each event with its JSON, as the kit keeps each raw event, + suppression upserts). Floor: \`bench/contenders/bare-server.ts\` (read, URLSearchParams, JSON.parse, 200). Two processes: two example servers on the one PostgreSQL schema, each in-flight slot bound to one of them, batches taken from one queue. ${ctx.runs} runs after a ${ctx.warmupBatches}-batch warm-up of each; contenders in rotating order, each re-warmed with ${ctx.rewarmBatches} unmeasured batches right before each of its runs (a server idle while the others are measured pays more for its first batches after the pause: see the bench's header); every event new to its database. Latency is per batch as the client saw it.`;

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
