/**
 * Foundation benchmarks (issue 2): the SQLite store's suppression check and inbox ingest, and the
 * event parser, each beside a baseline measured in the same run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  eventKey,
  type InboxEventInput,
  parseMandrillEvents,
  resolveSuppressionPolicy,
  suppressionEffects,
} from "@mandrill-kit/core";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import Database from "better-sqlite3";
import { realisticBatch } from "./lib/events.js";
import type { Table } from "./lib/report.js";
import { fmt, summarize, timeRuns } from "./lib/stats.js";

const ACCOUNT = "acme";
const policy = resolveSuppressionPolicy();

function toInputs(text: string, receivedAt: number): InboxEventInput[] {
  const parsed = parseMandrillEvents(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.events.map((e) => ({
    key: eventKey(e),
    type: e.type,
    email: e.email,
    messageId: e.messageId,
    eventAt: e.ts === null ? null : e.ts * 1000,
    raw: e.rawJson,
    effects: suppressionEffects(e, policy, receivedAt),
  }));
}

export async function suppressionCheckBench(dir: string, rows = 1_000_000): Promise<Table> {
  const store = openSqliteStore({ filename: join(dir, "check.db") });
  const db = store.database;
  const now = Date.now();
  // Seed through the store's own table layout, in one transaction (seeding is not what is measured).
  const insert = db.prepare(
    "INSERT INTO suppressions (account, email, reason, source, detail, created_at, updated_at, expires_at) VALUES (?, ?, ?, 'webhook', NULL, ?, ?, ?)",
  );
  const seedStart = performance.now();
  db.transaction(() => {
    const reasons = ["hard-bounce", "spam", "unsub", "soft-bounce"];
    for (let i = 0; i < rows; i++) {
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
  const seedMs = performance.now() - seedStart;
  db.pragma("optimize");

  // 1,000 addresses: half suppressed, half not, spread over the key space, in mixed case.
  const queries: string[][] = [];
  for (let q = 0; q < 9; q++) {
    queries.push(
      Array.from({ length: 1000 }, (_, i) => {
        const n = (i * 997 + q * 7919) % rows;
        return i % 2 === 0 ? `User${n}@Example${n % 1000}.com` : `nobody${n}-${q}@example.org`;
      }),
    );
  }
  let qi = 0;
  let hits = 0;
  const kit = await timeRuns(
    async () => {
      const list = queries[qi++ % queries.length] ?? [];
      hits = (await store.suppressions.check(ACCOUNT, list, { now })).length;
    },
    15,
    3,
  );

  const probe = db.prepare(
    "SELECT * FROM suppressions WHERE account = ? AND email = ? AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
  );
  let qb = 0;
  const baseline = await timeRuns(
    () => {
      const list = queries[qb++ % queries.length] ?? [];
      let n = 0;
      for (const email of list) if (probe.get(ACCOUNT, email.toLowerCase(), now) !== undefined) n++;
      return n;
    },
    15,
    3,
  );
  await store.close();

  const k = summarize(kit);
  const b = summarize(baseline);
  return {
    title: "suppressions.check — 1,000 addresses against 1,000,000 suppressions (SQLite)",
    description: `One call checks 1,000 addresses (half suppressed, mixed case, normalised by the kit) against ${rows.toLocaleString("en-US")} rows of one account (seeded in ${fmt(seedMs / 1000, 1)} s). Baseline: 1,000 prepared primary-key lookups in a loop on the same connection (addresses pre-lower-cased, no normalisation). ${k.runs} runs after 3 warm-ups each.`,
    headers: ["", "median ms", "min ms", "max ms", "spread", "ratio vs baseline (time)"],
    rows: [
      [
        "kit: store.suppressions.check (one statement)",
        fmt(k.median, 3),
        fmt(k.min, 3),
        fmt(k.max, 3),
        `${fmt(k.spread * 100, 0)}%`,
        `${fmt(k.median / b.median, 2)}×`,
      ],
      [
        "baseline: 1,000 × PK lookup",
        fmt(b.median, 3),
        fmt(b.min, 3),
        fmt(b.max, 3),
        `${fmt(b.spread * 100, 0)}%`,
        "1.00×",
      ],
    ],
    notes: [
      `Target: median ≤ 2 ms — ${k.median <= 2 ? "met" : "NOT met"} (${fmt(k.median, 3)} ms; ${hits} of 1,000 found suppressed in the last run).`,
    ],
  };
}

export async function ingestBench(dir: string): Promise<Table> {
  const batchesPerRun = 10;
  const runs = 7;
  const warmup = 2;
  const total = (runs + warmup) * batchesPerRun;
  const receivedAt = Date.now();
  const texts = Array.from({ length: total }, (_, b) => realisticBatch(b * 1000, 1000));
  const inputs = texts.map((t) => toInputs(t, receivedAt));

  const store = openSqliteStore({ filename: join(dir, "ingest.db") });
  let next = 0;
  let suppressed = 0;
  const kit = await timeRuns(
    async () => {
      for (let i = 0; i < batchesPerRun; i++) {
        const r = await store.inbox.ingest({ account: ACCOUNT, receivedAt, events: inputs[next++] ?? [] });
        suppressed += r.effects.length;
      }
    },
    runs,
    warmup,
  );

  // Redelivery: the same batches again (every event a duplicate, no effect).
  let redo = 0;
  const redelivered = await timeRuns(
    async () => {
      for (let i = 0; i < batchesPerRun; i++)
        await store.inbox.ingest({ account: ACCOUNT, receivedAt, events: inputs[redo++] ?? [] });
    },
    runs,
    warmup,
  );

  // End to end from the form value: parse + keys + policy + ingest.
  const e2eTexts = Array.from({ length: total }, (_, b) => realisticBatch(10_000_000 + b * 1000, 1000));
  let e2eNext = 0;
  const e2e = await timeRuns(
    async () => {
      for (let i = 0; i < batchesPerRun; i++) {
        await store.inbox.ingest({
          account: ACCOUNT,
          receivedAt,
          events: toInputs(e2eTexts[e2eNext++] ?? "[]", receivedAt),
        });
      }
    },
    runs,
    warmup,
  );
  const integrity = store.integrityCheck();
  await store.close();

  // Baseline: a plain better-sqlite3 insert of the same rows in one transaction per batch, same pragmas.
  const plain = new Database(join(dir, "plain.db"));
  plain.pragma("journal_mode = WAL");
  plain.pragma("synchronous = FULL");
  plain.exec(`CREATE TABLE inbox (seq INTEGER PRIMARY KEY, account TEXT NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL, email TEXT,
    message_id TEXT, event_at INTEGER, raw TEXT NOT NULL, received_at INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
    next_attempt_at INTEGER) STRICT`);
  const ins = plain.prepare(
    "INSERT INTO inbox (account, key, type, email, message_id, event_at, raw, received_at, state, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)",
  );
  const insertBatch = plain.transaction((events: InboxEventInput[]) => {
    for (const e of events)
      ins.run(ACCOUNT, e.key, e.type, e.email, e.messageId, e.eventAt, e.raw, receivedAt, receivedAt);
  });
  let pb = 0;
  const baseline = await timeRuns(
    () => {
      for (let i = 0; i < batchesPerRun; i++) insertBatch(inputs[pb++] ?? []);
    },
    runs,
    warmup,
  );
  plain.close();

  const perRun = batchesPerRun * 1000;
  const rate = (ms: number) => perRun / (ms / 1000);
  const k = summarize(kit.map(rate));
  const r = summarize(redelivered.map(rate));
  const e = summarize(e2e.map(rate));
  const b = summarize(baseline.map(rate));
  const batchMs = summarize(kit.map((ms) => ms / batchesPerRun));
  return {
    title:
      "inbox.ingest — 1,000-event batches into SQLite (dedupe + suppression updates, one transaction each)",
    description: `Realistic events (~717 bytes each as Mandrill serialises them; 5% hard bounces, 4% soft bounces, 3% spam, 3% unsub). Each run ingests ${batchesPerRun} batches of 1,000 new events into a file database (WAL, synchronous=FULL: one fsync per batch). Baseline: a plain better-sqlite3 insert of the same rows into a table without indexes, one transaction per batch, same pragmas. ${runs} runs after ${warmup} warm-ups.`,
    headers: ["", "median events/s", "min", "max", "spread", "ratio vs baseline"],
    rows: [
      [
        "kit: store.inbox.ingest (new events)",
        fmt(k.median, 0),
        fmt(k.min, 0),
        fmt(k.max, 0),
        `${fmt(k.spread * 100, 0)}%`,
        `${fmt(k.median / b.median, 2)}×`,
      ],
      [
        "kit: redelivered batches (all duplicates)",
        fmt(r.median, 0),
        fmt(r.min, 0),
        fmt(r.max, 0),
        `${fmt(r.spread * 100, 0)}%`,
        `${fmt(r.median / b.median, 2)}×`,
      ],
      [
        "kit: parse + keys + policy + ingest",
        fmt(e.median, 0),
        fmt(e.min, 0),
        fmt(e.max, 0),
        `${fmt(e.spread * 100, 0)}%`,
        `${fmt(e.median / b.median, 2)}×`,
      ],
      [
        "baseline: plain INSERT, one transaction",
        fmt(b.median, 0),
        fmt(b.min, 0),
        fmt(b.max, 0),
        `${fmt(b.spread * 100, 0)}%`,
        "1.00×",
      ],
    ],
    notes: [
      `Target ≥ 50,000 events/s — ${k.median >= 50_000 ? "met" : "NOT met"}; target ≥ 0.5× baseline — ${k.median / b.median >= 0.5 ? "met" : "NOT met"} (${fmt(k.median / b.median, 2)}×).`,
      `Median ${fmt(batchMs.median, 2)} ms per 1,000-event batch; ${suppressed.toLocaleString("en-US")} suppression changes applied; integrity_check: ${integrity}.`,
    ],
  };
}

export async function parserBench(): Promise<Table> {
  const texts = Array.from({ length: 20 }, (_, i) => realisticBatch(i * 1000, 1000));
  let i = 0;
  const kit = await timeRuns(
    () => {
      const r = parseMandrillEvents(texts[i++ % texts.length] ?? "[]");
      if (!r.ok) throw new Error("parse failed");
    },
    25,
    5,
  );
  let j = 0;
  const baseline = await timeRuns(() => JSON.parse(texts[j++ % texts.length] ?? "[]"), 25, 5);
  let m = 0;
  const keyed = await timeRuns(
    () => {
      const r = parseMandrillEvents(texts[m++ % texts.length] ?? "[]");
      if (r.ok) for (const e of r.events) eventKey(e);
    },
    25,
    5,
  );
  const k = summarize(kit);
  const b = summarize(baseline);
  const kk = summarize(keyed);
  return {
    title: "parseMandrillEvents — one 1,000-event batch (~717 KB)",
    description:
      "Lenient parse into typed events with exact per-event source text, against a bare `JSON.parse` of the same text. 25 runs after 5 warm-ups.",
    headers: ["", "median ms", "min ms", "max ms", "ratio vs baseline (time)"],
    rows: [
      [
        "kit: parseMandrillEvents",
        fmt(k.median, 3),
        fmt(k.min, 3),
        fmt(k.max, 3),
        `${fmt(k.median / b.median, 2)}×`,
      ],
      [
        "kit: parse + eventKey for every event",
        fmt(kk.median, 3),
        fmt(kk.min, 3),
        fmt(kk.max, 3),
        `${fmt(kk.median / b.median, 2)}×`,
      ],
      ["baseline: JSON.parse", fmt(b.median, 3), fmt(b.min, 3), fmt(b.max, 3), "1.00×"],
    ],
    notes: [],
  };
}

export async function runStoreBenches(): Promise<{ tables: Table[]; sqliteVersion: string }> {
  const dir = mkdtempSync(join(tmpdir(), "mk-bench-"));
  try {
    const probe = new Database(":memory:");
    const sqliteVersion = (probe.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v;
    probe.close();
    const tables = [await suppressionCheckBench(dir), await ingestBench(dir), await parserBench()];
    return { tables, sqliteVersion };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
