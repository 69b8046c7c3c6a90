/**
 * PostgreSQL store benchmarks (issue 9): webhook ingest (1,000-event batches) and `suppressions.check`
 * of 1,000 addresses on `@mandrill-kit/postgres`, beside the SQLite store measured in the same run on
 * the same inputs. Skipped (a table says so) when PostgreSQL is not reachable. Run alone (prints the
 * tables; `pnpm bench` writes them to BENCHMARKS.md): `pnpm tsx bench/postgres.bench.ts`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { resolveSuppressionPolicy, type Store } from "@mandrill-kit/core";
import { openPostgresStore } from "@mandrill-kit/postgres";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { realisticBatch, toInboxInputs } from "./lib/events.js";
import { databaseUrl, describeTarget, dropSchemas, postgresUnavailable, withClient } from "./lib/postgres.js";
import { printTable, type Table } from "./lib/report.js";
import { fmt, sampleRow, summarize } from "./lib/stats.js";

const ACCOUNT = "acme";
const _policy = resolveSuppressionPolicy();
const SEED_ROWS = 200_000;

/** Milliseconds of `fn` (one run). */
async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function ingestBench(sqlite: Store, pg: Store): Promise<Table> {
  // 20 batches (~0.5 s of PostgreSQL) per run: runs of a few batches measured mostly this machine's
  // jitter (the SQLite baseline spread 45–69% between runs of 5).
  const batchesPerRun = 20;
  const runs = 7;
  const warmup = 2;
  const receivedAt = Date.now();
  const sqliteRates: number[] = [];
  const pgRates: number[] = [];
  const perBatchPg: number[] = [];
  for (let run = 0; run < warmup + runs; run++) {
    // Each run's inputs are prepared (parsed, keyed, effects computed) before it is timed: only the
    // store is measured, and only one run's inputs are in memory at a time.
    const batches = Array.from({ length: batchesPerRun }, (_, b) =>
      toInboxInputs(realisticBatch((run * batchesPerRun + b) * 1000, 1000), receivedAt),
    );
    const ingestAll = async (store: Store, perBatch?: number[]) => {
      for (const events of batches) {
        const ms = await time(() => store.inbox.ingest({ account: ACCOUNT, receivedAt, events }));
        perBatch?.push(ms);
      }
    };
    // Alternate which store goes first, so neither always runs on a warmer machine.
    const order: [Store, number[], number[] | undefined][] =
      run % 2 === 0
        ? [
            [sqlite, sqliteRates, undefined],
            [pg, pgRates, perBatchPg],
          ]
        : [
            [pg, pgRates, perBatchPg],
            [sqlite, sqliteRates, undefined],
          ];
    for (const [store, rates, perBatch] of order) {
      const ms = await time(() => ingestAll(store, run >= warmup ? perBatch : undefined));
      if (run >= warmup) rates.push((batchesPerRun * 1000) / (ms / 1000));
    }
  }
  const s = summarize(sqliteRates);
  const p = summarize(pgRates);
  // Each run's ratio, between the two stores measured one after the other on the same batches.
  const ratios = summarize(pgRates.map((rate, i) => rate / (sqliteRates[i] as number)));
  const met = ratios.min >= 0.5;
  const lat = summarize(perBatchPg);
  const stored = (await pg.inbox.stats(ACCOUNT)).total;
  return {
    title: "PostgreSQL store — webhook ingest, 1,000-event batches, beside SQLite",
    description: `Each run ingests ${batchesPerRun} batches of 1,000 realistic events (parsed, keyed and with suppression effects computed beforehand) through \`store.inbox.ingest\`: one transaction per batch (one INSERT … SELECT of the batch's columns as binary arrays through unnest, locking the suppressions the effects touch — every key inserted; if one is stored already, the transaction runs again leaving the stored keys out — then the effects' writes, sent with the COMMIT). Baseline: the SQLite store (file, WAL, synchronous=FULL) on the same batches, alternating runs; ${runs} runs after ${warmup} warm-ups.`,
    headers: ["", "median events/s", "min", "max", "spread", "ratio vs SQLite"],
    rows: [
      sampleRow("@mandrill-kit/postgres (pg, one pool)", p, s, 0),
      sampleRow("baseline: @mandrill-kit/sqlite (file)", s, s, 0),
    ],
    notes: [
      `Ratio within each run (PostgreSQL / SQLite, one after the other on the same batches): median ${fmt(ratios.median, 2)}× (${fmt(ratios.min, 2)}–${fmt(ratios.max, 2)}×). Target (issue 19) ≥ 0.5×: ${met ? "met in every run" : "NOT met in every run"}.`,
      `PostgreSQL per batch: p50 ${fmt(lat.median, 1)} ms, p99 ${fmt(lat.p99, 1)} ms over ${lat.runs} batches; ${stored.toLocaleString("en-US")} events stored (commits wait for the server's WAL flush, with its own fsync settings).`,
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
    const pg = await openPostgresStore({ connectionString: url, schema: ingestSchema });
    let ingest: Table;
    try {
      ingest = await ingestBench(sqlite, pg);
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

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const table of await runPostgresBenches()) printTable(table);
}
