/**
 * The PostgreSQL store's ingest bench (issue 19; run by bench/postgres.bench.ts): 1,000-event batches
 * into `@mandrill-kit/postgres` beside the SQLite store, on the same batches, in runs of 100.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type InboxEventInput, resolveSuppressionPolicy, type Store } from "@mandrill-kit/core";
import { parseMandrillEventsBytesWithRanges } from "@mandrill-kit/core/plugin";
import { inboxInputs } from "../../packages/webhooks/src/ingest-events.js";
import { inputsFromColumns, packInputs } from "../../packages/webhooks/src/parse-job.js";
import { realisticBatch } from "./events.js";
import { withClient } from "./postgres.js";
import { cpuBetween, machineCpuMs, minorFaults, pidsNamed, snapshotCpu } from "./proc-cpu.js";
import type { Table } from "./report.js";
import { fmt, sampleRow, summarize } from "./stats.js";
import { backendPids, settle } from "./sustained-helpers.js";

const ACCOUNT = "acme";
const BATCHES_PER_RUN = 100;
const RUNS = 7;
/** Warm-up runs at most (see pgIngestBench): 500 batches each store. */
const MAX_WARMUP_RUNS = 5;
/** Warm-up runs when the backend's page faults cannot be read (no /proc, or a server elsewhere). */
const FIXED_WARMUP_RUNS = 2;
/** A run counts only on a quiet machine: other processes used at most this many cores on average. */
const QUIET_CORES = 0.25;
const policy = resolveSuppressionPolicy();

/** A full garbage collection, so that no run pays for collecting the inputs prepared before it. */
const collectGarbage: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

/**
 * One run's batches of 1,000 realistic events as the webhook router's parse thread hands them to a
 * store (parse-job.ts runParseJob): read from the decoded `mandrill_events` bytes, keyed, with
 * suppression effects, and each event's JSON text a view of those bytes. Every event is queued for
 * handlers (a web process that does not dispatch, or handlers for every type: the most a batch writes).
 */
function runBatches(run: number, receivedAt: number): InboxEventInput[][] {
  return Array.from({ length: BATCHES_PER_RUN }, (_, b) => {
    const bytes = Buffer.from(realisticBatch((run * BATCHES_PER_RUN + b) * 1000, 1000), "utf8");
    const { outcome, ranges } = parseMandrillEventsBytesWithRanges(bytes);
    if (!outcome.ok) throw new Error(outcome.message);
    const inputs = inboxInputs(outcome.events, policy, receivedAt);
    return inputsFromColumns(packInputs(inputs, ranges === undefined ? undefined : { bytes, ranges }));
  });
}

interface IngestRun {
  ms: number;
  /** CPU of this process (every thread), plus, for PostgreSQL, of every postgres process on this machine. */
  cpuMs: number;
  perBatch: number[];
  /** Minor page faults of the PostgreSQL store's backends over the run (NaN when not readable). */
  faults: number;
  /** The backends serving the store in this run (PostgreSQL only). */
  backends: number[];
  /** Cores other processes kept busy on average during the run (the run's noise). */
  otherCores: number;
}

async function ingestRun(
  store: Store,
  batches: InboxEventInput[][],
  backends?: number[],
): Promise<IngestRun> {
  const postgres = backends === undefined ? [] : pidsNamed("postgres");
  // Settled first: the previous run's background work (SQLite's checkpoint thread, PostgreSQL's
  // writers) and garbage are not charged to this one.
  collectGarbage();
  await settle([process.pid, ...postgres]);
  // The backends' faults are readable when they are processes of this machine's PostgreSQL server.
  const local =
    backends !== undefined && backends.length > 0 && backends.every((pid) => postgres.includes(pid));
  const faultsNow = () => (local ? backends.reduce((sum, pid) => sum + minorFaults(pid), 0) : Number.NaN);
  const faults0 = faultsNow();
  const server0 = snapshotCpu(postgres);
  const cpu0 = process.cpuUsage();
  const machine0 = machineCpuMs();
  const perBatch: number[] = [];
  const receivedAt = Date.now();
  const start = performance.now();
  for (const events of batches) {
    const t = performance.now();
    await store.inbox.ingest({ account: ACCOUNT, receivedAt, events });
    perBatch.push(performance.now() - t);
  }
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  const machine = machineCpuMs();
  // Processes started during the run (e.g. a parallel worker) count with all their time.
  const cpuMs =
    (cpu.user + cpu.system) / 1000 +
    cpuBetween(server0, snapshotCpu(backends === undefined ? [] : pidsNamed("postgres")));
  return {
    ms,
    cpuMs,
    perBatch,
    faults: faultsNow() - faults0,
    backends: backends ?? [],
    otherCores: (machine.busy - machine0.busy - cpuMs) / ms,
  };
}

/** The warm-up and measured runs of both stores. */
interface Runs {
  warm: IngestRun[];
  sqlite: IngestRun[];
  pg: IngestRun[];
  faultsRead: boolean;
}

/**
 * Both stores ingest the same runs of batches, alternately first. Warm-up runs go on until the
 * PostgreSQL backend maps (almost) no new memory: a new connection's backend takes a page fault on its
 * first touch of each shared buffer, which a pooled connection pays once, so measuring earlier would
 * measure the connection's age rather than the store (the first run's cost is reported). Where the
 * faults cannot be read, a fixed number of warm-up runs.
 */
async function ingestRuns(sqlite: Store, pg: Store, url: string, app: string): Promise<Runs> {
  const receivedAt = Date.now();
  const runs: Runs = { warm: [], sqlite: [], pg: [], faultsRead: true };
  let warmingUp = true;
  for (let run = 0; runs.pg.length < RUNS; run++) {
    const batches = runBatches(run, receivedAt);
    const sqliteFirst = run % 2 === 0;
    // The store's connection (one, as batches are ingested one at a time), found before each run.
    const ingestPg = async () => ingestRun(pg, batches, await backendPids(url, app));
    const a = sqliteFirst ? await ingestRun(sqlite, batches) : await ingestPg();
    const b = sqliteFirst ? await ingestPg() : await ingestRun(sqlite, batches);
    const [s, p] = sqliteFirst ? [a, b] : [b, a];
    if (warmingUp) {
      runs.warm.push(p);
      runs.faultsRead &&= Number.isFinite(p.faults);
      const first = (runs.warm[0] as IngestRun).faults;
      const done = runs.faultsRead
        ? runs.warm.length >= 2 && p.faults <= 0.05 * first
        : runs.warm.length >= FIXED_WARMUP_RUNS;
      if (done || runs.warm.length >= MAX_WARMUP_RUNS) warmingUp = false;
      continue;
    }
    runs.sqlite.push(s);
    runs.pg.push(p);
  }
  return runs;
}

/** How many times the store's backend changed between runs (its pooled connection replaced). */
function reconnects(runs: readonly IngestRun[]): number {
  let n = 0;
  for (let i = 1; i < runs.length; i++) {
    if ((runs[i] as IngestRun).backends.join() !== (runs[i - 1] as IngestRun).backends.join()) n++;
  }
  return n;
}

/** The warm-up note: how long it lasted and what a new connection cost. */
function warmupNote(runs: Runs, sharedBuffers: string, warmP50: number): string {
  const first = runs.warm[0] as IngestRun;
  const last = runs.warm.at(-1) as IngestRun;
  const n = runs.warm.length;
  const why = runs.faultsRead
    ? `until the PostgreSQL backend's minor page faults in a run fell to ≤ 5% of the first run's${n >= MAX_WARMUP_RUNS && last.faults > 0.05 * first.faults ? " (NOT reached: stopped at the limit)" : ""}: ${fmt(first.faults, 0)} in the first run, ${fmt(last.faults, 0)} in the last. A new connection's backend takes a page fault on its first touch of each page of shared_buffers (${sharedBuffers} here); a pooled connection pays that once`
    : "a fixed number: the backend's page faults could not be read here (no /proc, or PostgreSQL on another machine)";
  return `Warm-up: ${n} runs (${n * BATCHES_PER_RUN} batches each store), ${why}. First run (a new connection, new tables, code not yet optimised): PostgreSQL ${fmt(first.ms / BATCHES_PER_RUN, 1)} ms per batch, against ${fmt(warmP50, 1)} ms (p50) in the measured runs. The store's connection was replaced ${reconnects([...runs.warm, ...runs.pg])} times during the bench.`;
}

export async function pgIngestBench(sqlite: Store, pg: Store, url: string, app: string): Promise<Table> {
  const sharedBuffers = String(
    await withClient(url, async (c) => (await c.query("SHOW shared_buffers")).rows[0]?.shared_buffers),
  );
  const runs = await ingestRuns(sqlite, pg, url, app);
  const rate = (r: IngestRun) => (BATCHES_PER_RUN * 1000) / (r.ms / 1000);
  const s = summarize(runs.sqlite.map(rate));
  const p = summarize(runs.pg.map(rate));
  // Each run's ratio, between the two stores measured one after the other on the same batches.
  const ratios = summarize(runs.pg.map((r, i) => rate(r) / rate(runs.sqlite[i] as IngestRun)));
  const cpuRatios = summarize(runs.pg.map((r, i) => (runs.sqlite[i] as IngestRun).cpuMs / r.cpuMs));
  const cpuPerBatch = (list: IngestRun[]) => summarize(list.map((r) => r.cpuMs / BATCHES_PER_RUN)).median;
  const other = summarize([...runs.sqlite, ...runs.pg].map((r) => r.otherCores));
  const quiet = other.max <= QUIET_CORES;
  const verdict =
    ratios.min < 0.5
      ? "NOT met in every run"
      : quiet
        ? "met in every run"
        : "not shown (the machine was not quiet)";
  const lat = summarize(runs.pg.flatMap((r) => r.perBatch));
  const stored = (await pg.inbox.stats(ACCOUNT)).total;
  return {
    title: "PostgreSQL store — webhook ingest, 1,000-event batches, beside SQLite",
    description: `Each run ingests ${BATCHES_PER_RUN} batches of 1,000 realistic events through \`store.inbox.ingest\` as the webhook router's parse thread hands them to a store (read from the decoded \`mandrill_events\` bytes, keyed, suppression effects computed, each event's JSON text a view of those bytes; prepared before the run and not measured), every event queued for handlers (a web process that does not dispatch, or handlers for every type: the most a batch writes). PostgreSQL: one transaction per batch (one INSERT … SELECT of the batch's columns as binary arrays through unnest, the texts as one bytea, locking the suppressions the effects touch — every key inserted; if one is stored already, the transaction runs again leaving the stored keys out — then the effects' writes, sent with the COMMIT). Baseline: the SQLite store (file, WAL, synchronous=FULL) on the same batches, alternately first; before each run a full GC and both stores' background work settled. ${RUNS} runs after ${runs.warm.length} warm-up runs of both (see the notes).`,
    headers: ["", "median events/s", "min", "max", "spread", "ratio vs SQLite"],
    rows: [
      sampleRow("@mandrill-kit/postgres (pg, one pool)", p, s, 0),
      sampleRow("baseline: @mandrill-kit/sqlite (file)", s, s, 0),
    ],
    notes: [
      `Ratio within each run (PostgreSQL / SQLite, one after the other on the same batches): median ${fmt(ratios.median, 2)}× (${fmt(ratios.min, 2)}–${fmt(ratios.max, 2)}×). Target (issue 19) ≥ 0.5×: ${verdict}. Other load during the runs: median ${fmt(other.median, 2)}, at most ${fmt(other.max, 2)} cores (a run counts on ≤ ${QUIET_CORES}).`,
      `By CPU per batch (this process's threads, plus, for PostgreSQL, every process named postgres on this machine: its backend, WAL writer, checkpointer and any other session): PostgreSQL ${fmt(cpuPerBatch(runs.pg), 1)} ms, SQLite ${fmt(cpuPerBatch(runs.sqlite), 1)} ms; SQLite's CPU / PostgreSQL's within each run: median ${fmt(cpuRatios.median, 2)}× (${fmt(cpuRatios.min, 2)}–${fmt(cpuRatios.max, 2)}×).`,
      `PostgreSQL per batch: p50 ${fmt(lat.median, 1)} ms, p99 ${fmt(lat.p99, 1)} ms over ${lat.runs} batches; ${stored.toLocaleString("en-US")} events stored, warm-up included (commits wait for the server's WAL flush, with its own fsync settings).`,
      warmupNote(runs, sharedBuffers, lat.median),
    ],
  };
}
