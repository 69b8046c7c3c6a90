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
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Store } from "@mandrill-kit/core";
import { openPostgresStore } from "@mandrill-kit/postgres";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { pgIngestBench } from "./lib/pg-ingest.js";
import {
  databaseUrl,
  describeTarget,
  dropSchemas,
  postgresUnavailable,
  withClient,
  withParam,
} from "./lib/postgres.js";
import { printTable, renderMarkdown, replaceSection, type Table } from "./lib/report.js";
import { fmt, sampleRow, summarize } from "./lib/stats.js";

const ACCOUNT = "acme";
const SEED_ROWS = 200_000;
const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Milliseconds of `fn` (one run). */
async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
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
      ingest = await pgIngestBench(sqlite, pg, url, app);
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

/** The commit this checkout is at, and whether it has changes outside BENCHMARKS.md (for the section). */
function describeCommit(): string {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  try {
    const dirty = git("status", "--porcelain", "--untracked-files=no", "--", ":/", ":!/BENCHMARKS.md") !== "";
    return `commit ${git("rev-parse", "--short", "HEAD")}${dirty ? " with uncommitted changes" : ""}`;
  } catch {
    return "a checkout without git";
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const tables = await runPostgresBenches();
  for (const table of tables) printTable(table);
  // A run without PostgreSQL measured nothing: the figures already written stay.
  if (tables.some((t) => t.title.endsWith("skipped"))) {
    process.stdout.write("\nPostgreSQL was not reachable: BENCHMARKS.md left as it was.\n");
  } else {
    replaceSection(
      new URL("../BENCHMARKS.md", import.meta.url),
      HEADING,
      renderPostgresSection(tables, `${new Date().toISOString().slice(0, 10)}, ${describeCommit()}`),
    );
  }
}
