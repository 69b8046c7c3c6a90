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
 * this section of BENCHMARKS.md). Sizes: MK_BENCH_SUSTAINED_BATCHES (100), MK_BENCH_SUSTAINED_RUNS (5);
 * MK_BENCH_SUSTAINED_REWARM (30: unmeasured batches posted to a contender right before each of its
 * measured runs); MK_BENCH_SUSTAINED_ONLY=kit,hand,floor,pg1,pg2,base,pgbase (a subset, while
 * iterating: BENCHMARKS.md is then not rewritten) and MK_BENCH_SUSTAINED_BREAKDOWN=0 (skip the cost
 * breakdown).
 *
 * Why a re-warm before every run: while the other contenders are measured, a server sits idle for
 * tens of seconds, and the first batches after such a pause cost it more (measured on this 2-core
 * VM for the example server: 100 batches after 40 s idle used 36.7–50.8 ms of CPU per batch, against
 * 33.2–41.7 straight after load and 34.2–42.0 after a 30-batch re-warm, in the same process). That
 * is the cost of a pause, not of sustained ingest; every contender gets the same re-warm.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { runIngestBreakdown } from "./ingest-breakdown.bench.js";
import { databaseUrl, dropSchemas, postgresUnavailable, withParam } from "./lib/postgres.js";
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
import { backendPids, envNumber, settle } from "./lib/sustained-helpers.js";
import { type Contender, IN_FLIGHT, type Measured, report } from "./lib/sustained-report.js";

export const SUSTAINED_SECTION = "## Sustained webhook ingest (issue 19)";

interface BlastResult {
  ms: number;
  perBatch: number[];
  bytes: number;
  cpuMs: number;
}

export interface SustainedResult {
  tables: Table[];
  /** The kit server's (SQLite) mean CPU milliseconds per batch over the measured runs. */
  kitServerCpuMsPerBatch: number;
  /** The same, its main thread alone. */
  kitMainThreadCpuMsPerBatch: number;
}

const CONTENDER_LABELS: Record<Contender["id"], string> = {
  kit: "kit: example server → SQLite",
  hand: "hand-rolled Express route → SQLite",
  floor: "floor: bare node:http decode + JSON.parse",
  pg1: "kit: example server → PostgreSQL",
  pg2: "kit: 2 example servers → one PostgreSQL",
  base: "baseline kit (MK_BENCH_BASELINE_DIR) → SQLite",
  pgbase: "baseline kit (MK_BENCH_BASELINE_DIR) → PostgreSQL",
};

/**
 * MK_BENCH_SUSTAINED_ONLY=kit,hand measures only those contenders (while iterating); default: all but
 * the baselines, which run only when MK_BENCH_BASELINE_DIR names another checkout (with its deps
 * installed) whose example server to compare with (a change against main, in the same runs).
 */
function only(id: Contender["id"]): boolean {
  if (id === "base" || id === "pgbase") {
    const dir = process.env.MK_BENCH_BASELINE_DIR;
    if (dir === undefined || dir.trim() === "") return false;
  }
  const list = process.env.MK_BENCH_SUSTAINED_ONLY;
  return list === undefined || list.trim() === "" || list.split(",").some((x) => x.trim() === id);
}

interface PgSetup {
  url: string;
  pgDown: string | undefined;
  schema: string;
  pgApp: string;
}

/** Starts the servers of every contender asked for (MK_BENCH_SUSTAINED_ONLY), each in its own process. */
async function startContenders(dir: string, pg: PgSetup, started: ServerProcess[]): Promise<Contender[]> {
  const contenders: Contender[] = [];
  const label = (id: Contender["id"]) => CONTENDER_LABELS[id];
  const start = async (p: Promise<ServerProcess>) => {
    const s = await p;
    started.push(s);
    return s;
  };
  if (only("kit"))
    contenders.push({
      id: "kit",
      label: label("kit"),
      servers: [await start(startKit({ dataDir: join(dir, "kit") }))],
      slot: "a",
    });
  if (only("hand")) {
    const env = {
      DB_FILE: join(dir, "hand-rolled.db"),
      WEBHOOK_KEY: KIT_WEBHOOK_KEY,
      PUBLIC_URL: KIT_PUBLIC_URL,
    };
    const hand = await start(startContender("hand-rolled-server.ts", env));
    contenders.push({ id: "hand", label: label("hand"), servers: [hand], slot: "a" });
  }
  if (only("floor")) {
    const floor = await start(startContender("bare-server.ts"));
    contenders.push({ id: "floor", label: label("floor"), servers: [floor], slot: "a" });
  }
  const baseRoot = process.env.MK_BENCH_BASELINE_DIR;
  if (only("base"))
    contenders.push({
      id: "base",
      label: label("base"),
      servers: [await start(startKit({ dataDir: join(dir, "base"), root: baseRoot }))],
      slot: "a",
    });
  if (pg.pgDown === undefined && only("pgbase")) {
    const pgApp = `${pg.pgApp}_base`;
    const database = { url: withParam(pg.url, "application_name", pgApp), schema: `${pg.schema}_base` };
    const server = await start(startKit({ dataDir: join(dir, "pg-base"), database, root: baseRoot }));
    contenders.push({ id: "pgbase", label: label("pgbase"), servers: [server], slot: "a", pgApp });
  }
  if (pg.pgDown === undefined && (only("pg1") || only("pg2"))) {
    const { pgApp } = pg;
    const database = { url: withParam(pg.url, "application_name", pgApp), schema: pg.schema };
    // One at a time: the first creates the schema, the second finds it migrated.
    const pgA = await start(startKit({ dataDir: join(dir, "pg-a"), database }));
    if (only("pg1")) contenders.push({ id: "pg1", label: label("pg1"), servers: [pgA], slot: "a", pgApp });
    if (only("pg2")) {
      const pgB = await start(startKit({ dataDir: join(dir, "pg-b"), database, save: false }));
      contenders.push({ id: "pg2", label: label("pg2"), servers: [pgA, pgB], slot: "b", pgApp });
    }
  }
  return contenders;
}

/** Posts the client's prepared `slot` to the contender's server(s), `IN_FLIGHT` at a time. */
function blastSlot(c: ChildProcess, contender: Contender, slot: string): Promise<BlastResult> {
  return ask<BlastResult>(c, {
    blast: {
      slot,
      targets: contender.servers.map((s) => ({ port: s.port, path: KIT_PATH })),
      inFlight: IN_FLIGHT,
    },
  });
}

/** One measured run of one contender: the client's blast of the prepared slot, with every process's CPU. */
async function measureContender(c: ChildProcess, contender: Contender, url: string): Promise<Measured> {
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
  const r = await blastSlot(c, contender, contender.slot);
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
      (busy - serverCpuMs - clientCpuMs - (contender.pgApp === undefined ? 0 : pgAllMs)) / (r.ms + drainMs),
    wallMs: r.ms + drainMs,
    drainMs,
  };
}

/** Mean of one per-batch figure over the measured runs. */
function perBatchMean(runs: Measured[], ms: (m: Measured) => number): number {
  return runs.reduce((s, m) => s + ms(m) / m.perBatch.length, 0) / Math.max(1, runs.length);
}

export async function runIngestSustainedBenches(): Promise<SustainedResult> {
  const batches = envNumber("MK_BENCH_SUSTAINED_BATCHES", 100, 1);
  const runs = envNumber("MK_BENCH_SUSTAINED_RUNS", 5, 1);
  const warmupBatches = Math.min(30, batches);
  const rewarmBatches = envNumber("MK_BENCH_SUSTAINED_REWARM", 30, 0);
  const dir = mkdtempSync(join(tmpdir(), "mk-bench-sustained-"));
  const url = databaseUrl();
  const pgDown = await postgresUnavailable(url);
  const stamp = `${process.pid}_${Date.now().toString(36)}`;
  const schema = `mk_bench_sustained_${stamp}`;
  const started: ServerProcess[] = [];
  let client: ChildProcess | undefined;
  const loadBefore = loadavg()[0] ?? Number.NaN;
  try {
    const contenders = await startContenders(
      dir,
      { url, pgDown, schema, pgApp: `mk_bench_${stamp}` },
      started,
    );
    client = await startPostClient();
    const c = client;
    const prepare = (slot: string, seed: number, n: number) =>
      ask<{ bytes: number }>(c, {
        prepare: { slot, batches: n, seed, key: KIT_WEBHOOK_KEY, url: KIT_CALLBACK_URL },
      });

    // Warm-up: every contender once (JIT, page cache, pools), not measured.
    await prepare("a", 1_000_000_000, warmupBatches);
    await prepare("b", 1_500_000_000, warmupBatches);
    for (const contender of contenders) await measureContender(c, contender, url);

    const results = new Map<Contender["id"], Measured[]>(contenders.map((x) => [x.id, []]));
    let bodyBytes = 0;
    for (let run = 0; run < runs; run++) {
      // Fresh events every run: set "a" for the contenders with a database of their own, "b" for the
      // second contender on the shared PostgreSQL schema (its events must be new there too).
      bodyBytes = (await prepare("a", run * 2 * batches * 1000, batches)).bytes;
      await prepare("b", (run * 2 + 1) * batches * 1000, batches);
      const order = contenders.map((_, i) => contenders[(i + run) % contenders.length] as Contender);
      for (const contender of order) {
        if (rewarmBatches > 0) {
          // Fresh events of its own for each re-warm (the two PostgreSQL contenders share a schema).
          await prepare(
            "w",
            2_000_000_000 + (run * contenders.length + contenders.indexOf(contender)) * rewarmBatches * 1000,
            rewarmBatches,
          );
          await blastSlot(c, contender, "w");
          // Its tail (the dispatcher catching up, PostgreSQL's backends) is the re-warm's, not the run's.
          await settle([
            ...contender.servers.map((x) => x.pid),
            ...(contender.pgApp === undefined ? [] : await backendPids(url, contender.pgApp)),
          ]);
        }
        results.get(contender.id)?.push(await measureContender(c, contender, url));
      }
    }
    const loadAfter = loadavg()[0] ?? Number.NaN;
    const kitRuns = results.get("kit") ?? [];
    return {
      tables: report(contenders, results, {
        batches,
        runs,
        warmupBatches,
        rewarmBatches,
        bodyBytes,
        loadBefore,
        loadAfter,
        pgDown,
        url,
      }),
      kitServerCpuMsPerBatch: perBatchMean(kitRuns, (m) => m.serverCpuMs),
      kitMainThreadCpuMsPerBatch: perBatchMean(kitRuns, (m) => m.mainCpuMs),
    };
  } finally {
    if (client !== undefined) {
      client.send({ exit: true });
    }
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    if (pgDown === undefined) await dropSchemas(url, [schema, `${schema}_base`]);
  }
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
  const breakdown =
    process.env.MK_BENCH_SUSTAINED_BREAKDOWN === "0" ? [] : await runIngestBreakdown(reference);
  for (const t of breakdown) printTable(t);
  const partial = (process.env.MK_BENCH_SUSTAINED_ONLY ?? "").trim() !== "" || breakdown.length === 0;
  if (!partial) {
    replaceSection(
      new URL("../BENCHMARKS.md", import.meta.url),
      SUSTAINED_SECTION,
      renderSustainedSection(sustained, breakdown, true),
      "## Webhooks (`@mandrill-kit/webhooks`)",
    );
    process.stdout.write("\nRewrote the sustained-ingest section of BENCHMARKS.md\n");
  }
}
