/**
 * What dispatching a batch's events costs the SQLite store (issue 19): after each 1,000-event ingest,
 * the dispatcher claims the events its handlers want and marks them done. The store keeps that state
 * in a narrow queue (inbox_pending / inbox_done, migration 5); the baseline does the same work the way
 * the store did before (schema 4, its statements), on a second file with the same events.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { InboxEventInput } from "@mandrill-kit/core";
import { claimOrder, type InboxRow, toInbox } from "@mandrill-kit/core/adapter";
import { MIGRATIONS, openSqliteStore } from "@mandrill-kit/sqlite";
import Database from "better-sqlite3";
import { realisticBatch, toInboxInputs } from "./lib/events.js";
import { printTable, renderMarkdown, replaceSection, type Table } from "./lib/report.js";
import { fmt, type Sample, summarize } from "./lib/stats.js";

/** The types the example server's handlers want (its other types are stored done at ingest). */
const WANTED = ["hard_bounce", "spam", "unsub", "reject"];

/**
 * A file at schema 4 (the store's migrations before the queue) with the inbox statements of that
 * version, copied from packages/sqlite/src/inbox.ts as it was before migration 5: pending events are
 * rows with state 'pending' in the partial index inbox_due; a claim and a completion rewrite the row.
 */
function beforeTheQueue(filename: string) {
  // The store's pragmas; claims and completions were bookkeeping there (synchronous = NORMAL, no
  // fsync per commit), as they are now, so this connection commits with NORMAL throughout (its
  // ingests are not measured).
  const db = new Database(filename);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("secure_delete = ON");
  db.pragma("cache_size = -65536");
  db.pragma("wal_autocheckpoint = 0");
  for (const m of MIGRATIONS.filter((m) => m.version <= 4)) db.exec(m.sql);
  const insert = db.prepare(
    `INSERT INTO inbox (account, key, type, email, message_id, event_at, raw, received_at, state, attempts, next_attempt_at, completed_at)
     VALUES ('acme', ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT (account, key) DO NOTHING`,
  );
  const claim = db.prepare<Record<string, unknown>, InboxRow>(
    `UPDATE inbox SET lease_until = @now + @leaseMs, attempts = attempts + 1 WHERE seq IN (
       SELECT seq FROM inbox WHERE state = 'pending' AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)
       AND (type IN (SELECT value FROM json_each(@types)) OR (@unknown AND substr(type, 1, 8) = 'unknown:'))
       ORDER BY next_attempt_at, seq LIMIT @limit) RETURNING *`,
  );
  const complete = db.prepare(
    "UPDATE inbox SET state = 'done', lease_until = NULL, next_attempt_at = NULL, completed_at = ? WHERE account = ? AND key = ?",
  );
  const ingestTx = db.transaction((events: readonly InboxEventInput[], at: number) => {
    for (const e of events) {
      const done = e.state === "done";
      insert.run(
        e.key,
        e.type,
        e.email,
        e.messageId,
        e.eventAt,
        e.raw,
        at,
        done ? "done" : "pending",
        done ? null : at,
        done ? at : null,
      );
    }
  });
  const claimTx = db.transaction((params: Record<string, unknown>) => claim.all(params));
  const completeTx = db.transaction((events: readonly { account: string; key: string }[], now: number) => {
    for (const e of events) complete.run(now, e.account, e.key);
  });
  return {
    ingest: (events: readonly InboxEventInput[], at: number) => ingestTx.immediate(events, at),
    claim: (now: number, leaseMs: number, limit: number, types: string[]) =>
      claimTx
        .immediate({ now, leaseMs, limit, types: JSON.stringify(types), unknown: 0 })
        .map(toInbox)
        .sort(claimOrder),
    complete: (events: readonly { account: string; key: string }[], now: number) =>
      completeTx.immediate(events, now),
    measure: walMeasure(db, filename),
    close: () => db.close(),
  };
}

/** Runs a step on a WAL checkpointed empty first, recording its CPU time and the WAL it wrote. */
function walMeasure(db: Database.Database, filename: string) {
  return async (into: Step, fn: () => unknown) => {
    db.pragma("wal_checkpoint(TRUNCATE)");
    const cpu = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(cpu);
    (into.first ? into.cpuFirst : into.cpuSecond).push((used.user + used.system) / 1000);
    into.walBytes.push(statSync(`${filename}-wal`).size);
  };
}

interface Step {
  /** Whether this batch's step runs first after the two ingests (see the turns below). */
  first: boolean;
  cpuFirst: number[];
  cpuSecond: number[];
  walBytes: number[];
}
const step = (): Step => ({ first: true, cpuFirst: [], cpuSecond: [], walBytes: [] });

/** The BENCHMARKS.md section of this bench. */
export const DISPATCH_HEADING = "## Dispatch bookkeeping (`@mandrill-kit/sqlite`, issue 19)";

export function renderDispatchSection(tables: readonly Table[]): string {
  return [
    DISPATCH_HEADING,
    "",
    "Part of this `pnpm bench` run; `pnpm tsx bench/dispatch-queue.bench.ts` runs this section alone and rewrites it here.",
    "",
    ...tables.map(renderMarkdown),
  ].join("\n");
}

export async function runDispatchQueueBench(): Promise<Table[]> {
  const dir = mkdtempSync(join(tmpdir(), "mk-bench-dispatch-"));
  try {
    return [await dispatchQueueBench(dir)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function dispatchQueueBench(dir: string): Promise<Table> {
  const filename = join(dir, "dispatch.db");
  const store = openSqliteStore({ filename, backgroundCheckpoints: false });
  const db = store.database;
  // Every step starts on an empty WAL, so its growth is exactly what that step wrote.
  db.pragma("wal_autocheckpoint = 0");
  const walSize = () => statSync(`${filename}-wal`).size;
  const measure = walMeasure(db, filename);
  const before = beforeTheQueue(join(dir, "dispatch-before.db"));

  const kit = { claim: step(), complete: step() };
  const base = { claim: step(), complete: step() };
  const ingested: number[] = [];
  const batches = 40;
  const warmup = 5;
  let now = Date.now();
  let claimedPerBatch = 0;
  for (let b = 0; b < warmup + batches; b++) {
    const events = toInboxInputs(realisticBatch(70_000_000 + b * 1000), now).map((e) => ({
      ...e,
      state: WANTED.includes(e.type) ? ("pending" as const) : ("done" as const),
    }));
    db.pragma("wal_checkpoint(TRUNCATE)");
    await store.inbox.ingest({ account: "acme", receivedAt: now, events });
    if (b >= warmup) ingested.push(walSize());
    before.ingest(events, now);
    const k = b >= warmup ? kit : { claim: step(), complete: step() };
    const bl = b >= warmup ? base : { claim: step(), complete: step() };
    let claimed: { account: string; key: string; seq: number }[] = [];
    const kitSteps = async () => {
      await measure(k.claim, async () => {
        claimed = await store.inbox.claim({ now: now + 1, limit: 100, leaseMs: 60_000, types: WANTED });
      });
      const done = claimed.map((e) => ({ account: e.account, key: e.key }));
      await measure(k.complete, () => store.inbox.completeMany(done, { now: now + 2 }));
    };
    // The same events in the file laid out as before the queue, by the statements of that version.
    let old: { account: string; key: string }[] = [];
    const beforeSteps = async () => {
      await before.measure(bl.claim, () => {
        old = before.claim(now + 1, 60_000, 100, WANTED);
      });
      await before.measure(bl.complete, () => before.complete(old, now + 2));
    };
    // In turns, so neither always runs first after the two ingests (and collects their garbage).
    for (const st of [k.claim, k.complete]) st.first = b % 2 === 0;
    for (const st of [bl.claim, bl.complete]) st.first = b % 2 === 1;
    if (b % 2 === 0) {
      await kitSteps();
      await beforeSteps();
    } else {
      await beforeSteps();
      await kitSteps();
    }
    if (old.length !== claimed.length)
      throw new Error(`claimed ${claimed.length}, before the queue ${old.length}`);
    claimedPerBatch = claimed.length;
    now += 10;
  }
  const integrity = store.integrityCheck();
  await store.close();
  before.close();

  const s = (xs: number[]): Sample => summarize(xs);
  const row = (label: string, st: Step, ref: Step): string[] => {
    const first = s(st.cpuFirst).median;
    const second = s(st.cpuSecond).median;
    const wal = s(st.walBytes).median;
    return [
      label,
      fmt(first, 3),
      fmt(second, 3),
      fmt(wal / 1024, 0),
      `${fmt(first / s(ref.cpuFirst).median, 2)}× / ${fmt(second / s(ref.cpuSecond).median, 2)}×`,
      `${fmt(wal / s(ref.walBytes).median, 2)}×`,
    ];
  };
  return {
    title:
      "Dispatch bookkeeping — claim and complete the events handlers want, per 1,000-event batch (SQLite)",
    description: `After each ingest of a 1,000-event batch (typical mix; the example server's wanted types hard_bounce, spam, unsub and reject are queued, ${claimedPerBatch} per batch, the rest stored done), the store claims them (one claim, types filtered) and completes them (one completeMany), as the dispatcher does. Baseline: the same events ingested into a second file laid out as before the queue (schema 4: pending events are rows with state 'pending' in a partial index, and a claim and a completion rewrite those ~1 kB rows), claimed and completed there by that version's statements, on a connection with the store's pragmas (claims and completions commit without an fsync in both, as bookkeeping). After both ingests the two take turns going first: whichever goes first also pays for collecting the ingests' garbage, so CPU is given for each position (medians of ${batches / 2} batches each, after ${warmup} warm-ups). CPU ms of this thread (process.cpuUsage); WAL bytes written by each step (the WAL is checkpointed empty before each), median of ${batches}. Ratios: kit / before the queue, at the same position (lower is less work).`,
    headers: [
      "",
      "CPU ms, first",
      "CPU ms, second",
      "WAL KB",
      "CPU vs before (first / second)",
      "WAL vs before",
    ],
    rows: [
      row("kit: claim (inbox_pending rows)", kit.claim, base.claim),
      row("kit: completeMany (queue row → inbox_done)", kit.complete, base.complete),
      row("before the queue: claim (rewrites the event rows)", base.claim, base.claim),
      row("before the queue: complete (rewrites the event rows)", base.complete, base.complete),
    ],
    notes: [
      `For scale: the ingest of each batch wrote ${fmt(s(ingested).median / 1024, 0)} KB of WAL (median). integrity_check: ${integrity}.`,
    ],
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const tables = await runDispatchQueueBench();
  for (const table of tables) printTable(table);
  replaceSection(
    new URL("../BENCHMARKS.md", import.meta.url),
    DISPATCH_HEADING,
    renderDispatchSection(tables),
    "## Store and parser (`@mandrill-kit/core`, `@mandrill-kit/sqlite`)",
  );
}
