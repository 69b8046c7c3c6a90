import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { InboxEventInput, Logger } from "@mandrill-kit/core";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";
import { eventually } from "@mandrill-kit/core/testing";
import { openSqliteStore, type SqliteStore } from "@mandrill-kit/sqlite";
import type Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { runFixture } from "../../../test/run-fixture.js";
import {
  BACKSTOP_PAGES,
  type CheckpointThread,
  checkpointThreads,
  INLINE_PAGES,
  NUDGE_BYTES,
} from "../src/checkpointer.js";
import { purgeRetiredPages } from "../src/connection.js";

const dir = mkdtempSync(join(tmpdir(), "mk-sqlite-checkpoint-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `db-${++n}.sqlite`);

const spawn = checkpointThreads.spawn;
afterEach(() => {
  checkpointThreads.spawn = spawn;
});

/** The threads the stores start, as they start. */
function watchThreads(): CheckpointThread[] {
  const started: CheckpointThread[] = [];
  checkpointThreads.spawn = (data) => {
    const worker = spawn(data);
    started.push(worker);
    return worker;
  };
  return started;
}

const RAW = JSON.stringify({ event: "send", msg: { subject: "x".repeat(900) } });

/** A batch of 1,000 new events of ~1 KB each (~1 MB of WAL). */
function batch(b: number): InboxEventInput[] {
  return Array.from({ length: 1000 }, (_, i) => ({
    key: `${1_700_000_000 + b}:send:id-${b}-${i}`,
    type: "send",
    email: `user${i}@example.com`,
    messageId: `id-${b}-${i}`,
    eventAt: (1_700_000_000 + b) * 1000,
    raw: RAW,
    effects: [],
    state: "done",
  }));
}

let batches = 0;

/** Ingests new batches until a checkpoint has been asked for (more than NUDGE_BYTES of events). */
async function ingestPastNudge(store: SqliteStore): Promise<number> {
  let events = 0;
  while (events * RAW.length <= NUDGE_BYTES * 1.5) {
    await store.inbox.ingest({ account: "acme", receivedAt: Date.now(), events: batch(batches++) });
    events += 1000;
  }
  return events;
}

const warnings = (): { logger: Logger; said: string[] } => {
  const said: string[] = [];
  const noop = () => {};
  return { logger: { debug: noop, info: noop, warn: (_c, m) => said.push(m), error: noop }, said };
};

describe("background checkpoints", () => {
  it("copy ingested events into the database file from their own thread, not inside a commit", async () => {
    const threads = watchThreads();
    const filename = fresh();
    const store = openSqliteStore({ filename });
    const before = statSync(filename).size;
    const events = await ingestPastNudge(store);
    // The commit only checkpoints inline from BACKSTOP_PAGES of WAL on: far more than this.
    expect(store.database.pragma("wal_autocheckpoint", { simple: true })).toBe(BACKSTOP_PAGES);
    expect(events * RAW.length).toBeLessThan(BACKSTOP_PAGES * 4096);
    expect(threads).toHaveLength(1);
    // Only a checkpoint writes pages into the database file.
    await eventually(() => statSync(filename).size > before + NUDGE_BYTES, {
      what: "a background checkpoint",
    });
    expect((await store.inbox.stats("acme")).total).toBe(events);
    await store.close();
    const reopened = openSqliteStore({ filename });
    expect(reopened.integrityCheck()).toBe("ok");
    expect((await reopened.inbox.stats("acme")).total).toBe(events);
    await reopened.close();
  });

  it("start one thread per store, on its first ingest, and close() stops it", async () => {
    const threads = watchThreads();
    const store = openSqliteStore({ filename: fresh() });
    await store.suppressions.check("acme", ["a@example.com"]);
    expect(threads).toHaveLength(0);
    await ingestPastNudge(store);
    await ingestPastNudge(store);
    expect(threads).toHaveLength(1);
    const exited = new Promise<number>((resolve) => threads[0]?.once("exit", resolve));
    await store.close();
    expect(await exited).toBe(0);
  });

  it("never keep a process alive: a store that started its thread and was never closed", async () => {
    const script = fileURLToPath(new URL("./fixtures/unclosed-store.ts", import.meta.url));
    expect(await runFixture(script)).toEqual({ code: 0, out: { checkpointThreads: 1 } });
  });

  it("are off with backgroundCheckpoints: false and for :memory: (SQLite's inline autocheckpoint)", async () => {
    const threads = watchThreads();
    for (const options of [{ filename: fresh(), backgroundCheckpoints: false }, { filename: ":memory:" }]) {
      const store = openSqliteStore(options);
      await ingestPastNudge(store);
      if (options.filename !== ":memory:")
        expect(store.database.pragma("wal_autocheckpoint", { simple: true })).toBe(INLINE_PAGES);
      await store.close();
    }
    expect(threads).toHaveLength(0);
  });

  it("fall back to inline checkpoints, with one warning, when the thread cannot start", async () => {
    checkpointThreads.spawn = () => new Worker("throw new Error('no driver here')", { eval: true });
    const { logger, said } = warnings();
    const filename = fresh();
    const store = openSqliteStore({ filename, logger });
    const events = await ingestPastNudge(store);
    await eventually(() => said.length > 0, { what: "the warning" });
    expect(said).toEqual(["the background checkpoint thread stopped; WAL checkpoints run inline again"]);
    expect(store.database.pragma("wal_autocheckpoint", { simple: true })).toBe(INLINE_PAGES);
    await ingestPastNudge(store);
    expect((await store.inbox.stats("acme")).total).toBe(2 * events);
    await store.close();
  });

  it("let a purge of rewritten secrets right after ingest finish without a warning", async () => {
    const { logger, said } = warnings();
    const store = openSqliteStore({ filename: fresh(), logger });
    await ingestPastNudge(store);
    await store.credentials.put("acme", { settings: { a: 1 }, secrets: { apiKey: "v1" } });
    await store.credentials.put("acme", { settings: { a: 1 }, secrets: { apiKey: "v2" } });
    expect(said).toEqual([]);
    await store.close();
  });
});

describe("a purge of rewritten secrets", () => {
  /** A connection whose TRUNCATE checkpoints answer busy the given number of times, then succeed. */
  const busyTimes = (times: number) => {
    let calls = 0;
    const db = { prepare: () => ({ all: () => [{ busy: calls++ < times ? 1 : 0 }] }) };
    return { db: db as unknown as Database.Database, calls: () => calls };
  };
  const log = (said: string[]): ComponentLogger => ({
    debug: () => {},
    info: () => {},
    warn: (_fields, message) => said.push(message),
    error: () => {},
  });

  it("waits for the store's checkpoint thread when it held the checkpoint lock, then finishes", () => {
    const said: string[] = [];
    const { db, calls } = busyTimes(1);
    let waited = 0;
    const purge = purgeRetiredPages(db, log(said), { waitIdle: () => ++waited === 1 });
    purge.purge();
    expect({ calls: calls(), waited, said }).toEqual({ calls: 2, waited: 1, said: [] });
  });

  it("stays due (with its warning) when the thread was not checkpointing: another connection reads", () => {
    const said: string[] = [];
    const { db, calls } = busyTimes(5);
    const purge = purgeRetiredPages(db, log(said), { waitIdle: () => false });
    purge.purge();
    expect(calls()).toBe(1);
    expect(said).toHaveLength(1);
    purge.retryIfDue();
    expect(calls()).toBe(2);
  });
});
