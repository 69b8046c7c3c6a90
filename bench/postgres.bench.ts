/**
 * PostgreSQL store benchmarks (issue 9): webhook ingest (1,000-event batches) and `suppressions.check`
 * of 1,000 addresses on `@mandrill-kit/postgres`, beside the SQLite store measured in the same run on
 * the same inputs. Skipped (a table says so) when PostgreSQL is not reachable. Run alone (prints the
 * tables and rewrites its BENCHMARKS.md section): `pnpm tsx bench/postgres.bench.ts`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { InboxEventInput, Store } from "@mandrill-kit/core";
import { openPostgresStore } from "@mandrill-kit/postgres";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { inputsFromColumns, packInputs } from "../packages/webhooks/src/parse-job.js";
import { realisticBatch, toInboxInputs } from "./lib/events.js";
import {
  databaseUrl,
  describeTarget,
  dropSchemas,
  postgresUnavailable,
  withClient,
  withParam,
} from "./lib/postgres.js";
import { cpuBetween, minorFaults, pidsNamed, snapshotCpu } from "./lib/proc-cpu.js";
import { printTable, renderMarkdown, replaceSection, type Table } from "./lib/report.js";
import { fmt, sampleRow, summarize } from "./lib/stats.js";
import { backendPids } from "./lib/sustained-helpers.js";

const ACCOUNT = "acme";
const SEED_ROWS = 200_000;
const BATCHES_PER_RUN = 100;
const RUNS = 7;
/** Warm-up runs at most (see ingestBench): 500 batches each store. */
const MAX_WARMUP_RUNS = 5;

/** Milliseconds of `fn` (one run). */
async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * One run's batches of 1,000 realistic events as the webhook router hands them to a store: parsed,
 * keyed, with suppression effects, and each event's JSON text as UTF-8 bytes, ranges of one buffer
 * (the parse thread's columns, parse-job.ts). Every event queued for handlers.
 */
function runBatches(run: number, receivedAt: number): InboxEventInput[][] {
  return Array.from({ length: BATCHES_PER_RUN }, (_, b) =>
    inputsFromColumns(
      packInputs(toInboxInputs(realisticBatch((run * BATCHES_PER_RUN + b) * 1000, 1000), receivedAt)),
    ),
  );
}

interface IngestRun {
  ms: number;
  /** CPU of this process (every thread), plus, for PostgreSQL, of every postgres process. */
  cpuMs: number;
  perBatch: number[];
  /** Minor page faults of the PostgreSQL store's backends over the run (NaN for SQLite). */
  faults: number;
}

async function ingestRun(
  store: Store,
  batches: InboxEventInput[][],
  backends?: number[],
): Promise<IngestRun> {
  const postgres = backends === undefined ? [] : pidsNamed("postgres");
  const faultsNow = () => (backends ?? []).reduce((sum, pid) => sum + minorFaults(pid), 0);
  const faults0 = backends === undefined ? Number.NaN : faultsNow();
  const server0 = snapshotCpu(postgres);
  const cpu0 = process.cpuUsage();
  const perBatch: number[] = [];
  const receivedAt = Date.now();
  const ms = await time(async () => {
    for (const events of batches) {
      perBatch.push(await time(() => store.inbox.ingest({ account: ACCOUNT, receivedAt, events })));
    }
  });
  const cpu = process.cpuUsage(cpu0);
  return {
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000 + cpuBetween(server0, snapshotCpu(postgres)),
    perBatch,
    faults: faultsNow() - faults0,
  };
}

/**
 * Both stores ingest the same runs of batches, alternately first. Warm-up runs go on until the
 * PostgreSQL backend maps (almost) no new memory: a new connection's backend takes a page fault on its
 * first touch of each shared buffer, which a pooled connection pays once, so measuring earlier would
 * measure the connection's age rather than the store (the first run's cost is reported).
 */
async function ingestBench(sqlite: Store, pg: Store, url: string, app: string): Promise<Table> {
  const receivedAt = Date.now();
  const sharedBuffers = await withClient(
    url,
    async (c) => (await c.query("SHOW shared_buffers")).rows[0]?.shared_buffers,
  );
  const result = { sqlite: [] as IngestRun[], pg: [] as IngestRun[] };
  const warm: IngestRun[] = [];
  let run = 0;
  let warmupRuns = 0;
  for (; run < MAX_WARMUP_RUNS + RUNS; run++) {
    const batches = runBatches(run, receivedAt);
    const sqliteFirst = run % 2 === 0;
    // The store's connections (one, as batches are ingested one at a time), found before each run.
    const ingestPg = async () => ingestRun(pg, batches, await backendPids(url, app));
    const a = sqliteFirst ? await ingestRun(sqlite, batches) : await ingestPg();
    const b = sqliteFirst ? await ingestPg() : await ingestRun(sqlite, batches);
    const [s, p] = sqliteFirst ? [a, b] : [b, a];
    if (warmupRuns === 0) {
      warm.push(p);
      const first = (warm[0] as IngestRun).faults;
      const warmedUp = warm.length >= 2 && !(p.faults > 0.05 * first);
      if (warmedUp || warm.length >= MAX_WARMUP_RUNS) warmupRuns = warm.length;
      continue;
    }
    result.sqlite.push(s);
    result.pg.push(p);
    if (result.pg.length >= RUNS) break;
  }
  const rate = (r: IngestRun) => (BATCHES_PER_RUN * 1000) / (r.ms / 1000);
  const s = summarize(result.sqlite.map(rate));
  const p = summarize(result.pg.map(rate));
  // Each run's ratio, between the two stores measured one after the other on the same batches.
  const ratios = summarize(result.pg.map((r, i) => rate(r) / rate(result.sqlite[i] as IngestRun)));
  const cpuRatios = summarize(result.pg.map((r, i) => (result.sqlite[i] as IngestRun).cpuMs / r.cpuMs));
  const cpuPerBatch = (runs: IngestRun[]) => summarize(runs.map((r) => r.cpuMs / BATCHES_PER_RUN)).median;
  const met = ratios.min >= 0.5;
  const lat = summarize(result.pg.flatMap((r) => r.perBatch));
  const first = warm[0] as IngestRun;
  const last = warm.at(-1) as IngestRun;
  const stored = (await pg.inbox.stats(ACCOUNT)).total;
  return {
    title: "PostgreSQL store — webhook ingest, 1,000-event batches, beside SQLite",
    description: `Each run ingests ${BATCHES_PER_RUN} batches of 1,000 realistic events through \`store.inbox.ingest\`, as the webhook router hands them to the store (parsed, keyed, suppression effects computed, each event's JSON text as UTF-8 bytes in one buffer; prepared before the run, not measured), every event queued for handlers (a web process that does not dispatch, or handlers for every type: the most a batch writes): one transaction per batch (one INSERT … SELECT of the batch's columns as binary arrays through unnest, the texts as one bytea, locking the suppressions the effects touch — every key inserted; if one is stored already, the transaction runs again leaving the stored keys out — then the effects' writes, sent with the COMMIT). Baseline: the SQLite store (file, WAL, synchronous=FULL) on the same batches, alternately first; ${RUNS} runs after ${warmupRuns} warm-up runs of both (see the notes).`,
    headers: ["", "median events/s", "min", "max", "spread", "ratio vs SQLite"],
    rows: [
      sampleRow("@mandrill-kit/postgres (pg, one pool)", p, s, 0),
      sampleRow("baseline: @mandrill-kit/sqlite (file)", s, s, 0),
    ],
    notes: [
      `Ratio within each run (PostgreSQL / SQLite, one after the other on the same batches): median ${fmt(ratios.median, 2)}× (${fmt(ratios.min, 2)}–${fmt(ratios.max, 2)}×). Target (issue 19) ≥ 0.5×: ${met ? "met in every run" : "NOT met in every run"}.`,
      `By CPU per batch (this process's threads, plus every postgres process for PostgreSQL: its backend, WAL writer and checkpointer): PostgreSQL ${fmt(cpuPerBatch(result.pg), 1)} ms, SQLite ${fmt(cpuPerBatch(result.sqlite), 1)} ms; SQLite's CPU / PostgreSQL's within each run: median ${fmt(cpuRatios.median, 2)}× (${fmt(cpuRatios.min, 2)}–${fmt(cpuRatios.max, 2)}×).`,
      `PostgreSQL per batch: p50 ${fmt(lat.median, 1)} ms, p99 ${fmt(lat.p99, 1)} ms over ${lat.runs} batches; ${stored.toLocaleString("en-US")} events stored, warm-up included (commits wait for the server's WAL flush, with its own fsync settings).`,
      `Warm-up: ${warmupRuns} runs (${warmupRuns * BATCHES_PER_RUN} batches each store), until the PostgreSQL backend's minor page faults in a run fell to ≤ 5% of the first run's${warmupRuns >= MAX_WARMUP_RUNS ? " (NOT reached: stopped at the limit)" : ""}: ${fmt(first.faults / BATCHES_PER_RUN, 0)} → ${fmt(last.faults / BATCHES_PER_RUN, 0)} per batch. A new connection's backend maps each shared buffer (shared_buffers ${sharedBuffers} here) on its first touch; a pooled connection pays it once. First run (new connection, new tables): PostgreSQL ${fmt(first.ms / BATCHES_PER_RUN, 1)} ms per batch, against ${fmt(lat.median, 1)} ms (p50) once warm.`,
    ],
  };
}

async function checkBench(url: string, schema: string, sqliteDir: string): Promise<Table> {
  const now = Date.now();
  const sqlite = openSqliteStore({ filename: join(sqliteDir, "check.db") });
  const pg = await openPostgresStore({ connectionString: url, schema });
  try {
    // Same rows in both: 1 in 4 soft bounces with an expiry, the rest forever.
    const seedStart = performance.now();
    const insert = sqlite.database.prepare(
      "INSERT INTO suppressions (account, email, reason, source, detail, created_at, updated_at, expires_at) VALUES (?, ?, ?, 'webhook', NULL, ?, ?, ?)",
    );
    const reasons = ["hard-bounce", "spam", "unsub", "soft-bounce"];
    sqlite.database.transaction(() => {
      for (let i = 0; i < SEED_ROWS; i++) {
        insert.run(
          ACCOUNT,
          `user${i}@example${i % 1000}.com`,
          reasons[i % 4],
          now,
          now,
          i % 4 === 3 ? now + 86_400_000 : null,
        );
      }
    })();
    await withClient(url, async (client) => {
      await client.query(
        `INSERT INTO "${schema}".suppressions (account, email, reason, source, detail, created_at, updated_at, expires_at)
         SELECT $1, 'user' || i || '@example' || (i % 1000) || '.com', (ARRAY['hard-bounce','spam','unsub','soft-bounce'])[i % 4 + 1],
                'webhook', NULL, $2::bigint, $2::bigint, CASE WHEN i % 4 = 3 THEN $2::bigint + 86400000 END
         FROM generate_series(0, $3::int - 1) AS i`,
        [ACCOUNT, now, SEED_ROWS],
      );
      await client.query(`ANALYZE "${schema}".suppressions`);
    });
    const seedMs = performance.now() - seedStart;

    // 1,000 mixed-case addresses over the whole key space, half suppressed; misses sit beside real
    // entries (…example123.org next to …example123.com).
    const lists = Array.from({ length: 9 }, (_, q) =>
      Array.from({ length: 1000 }, (_, i) => {
        const n = (i * 997 + q * 7919) % SEED_ROWS;
        return (i * 37) % 100 < 50 ? `User${n}@Example${n % 1000}.com` : `User${n}@Example${n % 1000}.org`;
      }),
    );
    const runs = 27;
    const warmup = 9;
    const sqliteMs: number[] = [];
    const pgMs: number[] = [];
    let hits = 0;
    for (let run = 0; run < warmup + runs; run++) {
      const list = lists[run % lists.length] as string[];
      const first: Store = run % 2 === 0 ? sqlite : pg;
      const second: Store = first === sqlite ? pg : sqlite;
      for (const store of [first, second]) {
        const ms = await time(async () => {
          hits = (await store.suppressions.check(ACCOUNT, list, { now })).length;
        });
        if (run >= warmup) (store === sqlite ? sqliteMs : pgMs).push(ms);
      }
    }
    const s = summarize(sqliteMs);
    const p = summarize(pgMs);
    return {
      title: "PostgreSQL store — suppressions.check of 1,000 addresses, beside SQLite",
      description: `\`suppressions.check(account, 1,000 addresses)\` (mixed case, half suppressed) against ${SEED_ROWS.toLocaleString("en-US")} suppression rows — fewer than the SQLite bench's million, to keep the seed quick; the query is one index probe per address in both stores, so it grows with the addresses asked, not the rows stored. PostgreSQL answers in one round trip (\`email = ANY($2::text[])\`) over loopback. Baseline: the SQLite store on the same rows and lists, alternating; ${runs} runs after ${warmup} warm-ups.`,
      headers: ["", "median ms", "min", "max", "spread", "ratio vs SQLite"],
      rows: [
        sampleRow("@mandrill-kit/postgres: one ANY($2) query", p, s, 2),
        sampleRow("baseline: @mandrill-kit/sqlite: json_each probes", s, s, 2),
      ],
      notes: [
        `${hits} of 1,000 suppressed in the last list; seeding both stores took ${fmt(seedMs / 1000, 1)} s (not measured).`,
      ],
    };
  } finally {
    await sqlite.close();
    await pg.close();
  }
}

export async function runPostgresBenches(): Promise<Table[]> {
  const url = databaseUrl();
  const target = describeTarget(url);
  const unavailable = await postgresUnavailable(url);
  if (unavailable !== undefined) {
    return [
      {
        title: "PostgreSQL store — skipped",
        description: `PostgreSQL not reachable at ${target} (${unavailable}).`,
        headers: ["", "result"],
        rows: [["webhook ingest, suppressions.check", "skipped"]],
        notes: [
          "Start PostgreSQL or set MK_BENCH_DATABASE_URL (or MK_TEST_DATABASE_URL) to run these benchmarks.",
        ],
      },
    ];
  }
  const stamp = `${process.pid}_${Date.now().toString(36)}`;
  const ingestSchema = `mk_bench_ingest_${stamp}`;
  const checkSchema = `mk_bench_check_${stamp}`;
  const dir = mkdtempSync(join(tmpdir(), "mk-bench-pg-"));
  try {
    const sqlite = openSqliteStore({ filename: join(dir, "ingest.db") });
    const app = `mk_bench_pg_${stamp}`;
    const pg = await openPostgresStore({
      connectionString: withParam(url, "application_name", app),
      schema: ingestSchema,
    });
    let ingest: Table;
    try {
      ingest = await ingestBench(sqlite, pg, url, app);
    } finally {
      await sqlite.close();
      await pg.close();
    }
    return [ingest, await checkBench(url, checkSchema, dir)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await dropSchemas(url, [ingestSchema, checkSchema]);
  }
}

const HEADING = "## PostgreSQL beside SQLite (`@mandrill-kit/postgres`)";

/** The BENCHMARKS.md section of this bench; `alone` says when and at which commit it was run by itself. */
export function renderPostgresSection(tables: readonly Table[], alone?: string): string {
  return [
    HEADING,
    "",
    `Part of the \`pnpm bench\` run; \`pnpm tsx bench/postgres.bench.ts\` runs this section alone and rewrites it here.${alone === undefined ? "" : ` This time it was run alone: ${alone}.`}`,
    "",
    ...tables.map(renderMarkdown),
  ].join("\n");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const tables = await runPostgresBenches();
  for (const table of tables) printTable(table);
  let commit = "a working tree";
  try {
    commit = `commit ${execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim()}${execFileSync("git", ["status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md"], { encoding: "utf8" }).trim() === "" ? "" : " with uncommitted changes"}`;
  } catch {
    // not a git checkout
  }
  replaceSection(
    new URL("../BENCHMARKS.md", import.meta.url),
    HEADING,
    renderPostgresSection(tables, `${new Date().toISOString().slice(0, 10)}, ${commit}`),
  );
}
