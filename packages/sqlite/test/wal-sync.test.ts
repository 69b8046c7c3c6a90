import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type InboxEventInput, isMandrillKitError } from "@mandrill-kit/core";
import { openSqliteStore, type SqliteStore } from "@mandrill-kit/sqlite";
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { walSyncCalls } from "../src/wal-sync.js";

const dir = mkdtempSync(join(tmpdir(), "mk-sqlite-walsync-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `db-${++n}.sqlite`);

const realFdatasync = walSyncCalls.fdatasync;
const stores: SqliteStore[] = [];
afterEach(async () => {
  walSyncCalls.fdatasync = realFdatasync;
  for (const s of stores.splice(0)) await s.close();
});

const event = (i: number): InboxEventInput => ({
  key: `k${i}`,
  type: "send",
  email: `a${i}@example.com`,
  messageId: `m${i}`,
  eventAt: i,
  raw: "{}",
});

/** fdatasync calls held until released (or failed) by the test. */
function heldFdatasyncs() {
  const held: { fd: number; done: (error: NodeJS.ErrnoException | null) => void }[] = [];
  walSyncCalls.fdatasync = (fd, done) => {
    held.push({ fd, done });
  };
  return held;
}

const settled = async (p: Promise<unknown>) => {
  let state = "pending";
  p.then(
    () => {
      state = "resolved";
    },
    () => {
      state = "rejected";
    },
  );
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  return state;
};

async function openWithWal(): Promise<SqliteStore> {
  const store = openSqliteStore({ filename: fresh(), backgroundCheckpoints: false });
  stores.push(store);
  // The first commit creates the -wal file (SQLite fsyncs that one itself).
  await store.inbox.ingest({ account: "acme", events: [event(0)] });
  return store;
}

/** The error a failing disk gives fdatasync. */
const eio = () => Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });

/** `ingest` is refused as a store failure (nothing acknowledged). */
async function expectRefused(ingest: Promise<unknown>): Promise<void> {
  const error = await ingest.catch((e: unknown) => e);
  expect(isMandrillKitError(error) && error.code).toBe("ERR_MK_STORE_FAILED");
}

describe("durable commits with the WAL's fsync off the event loop", () => {
  it("answers an ingest only after an fdatasync of the WAL started after its commit has returned", async () => {
    const store = await openWithWal();
    const held = heldFdatasyncs();
    const ingest = store.inbox.ingest({ account: "acme", events: [event(1)] });
    expect(await settled(ingest)).toBe("pending");
    expect(held).toHaveLength(1);
    // Committed (visible, and in the WAL file) but not yet acknowledged.
    expect(await store.inbox.get("acme", "k1")).toBeDefined();
    // The connection stays synchronous=FULL outside the ingest's own commit.
    expect(store.database.pragma("synchronous", { simple: true })).toBe(2);
    held[0]?.done(null);
    await expect(ingest).resolves.toMatchObject({ inserted: ["k1"] });
    // A second connection (another process) reads it from the WAL.
    const other = new Database(store.filename, { readonly: true });
    expect(other.prepare("SELECT count(*) AS n FROM inbox").get()).toEqual({ n: 2 });
    other.close();
  });

  it("shares one fdatasync among the commits made while one is in flight (group commit)", async () => {
    const store = await openWithWal();
    const held = heldFdatasyncs();
    const first = store.inbox.ingest({ account: "acme", events: [event(1)] });
    await settled(first);
    const second = store.inbox.ingest({ account: "acme", events: [event(2)] });
    const third = store.inbox.ingest({ account: "acme", events: [event(3)] });
    expect(held).toHaveLength(1);
    held[0]?.done(null);
    await first;
    // The second and third committed after the first fdatasync started: they wait for the next one.
    expect(await settled(second)).toBe("pending");
    expect(held).toHaveLength(2);
    held[1]?.done(null);
    await expect(Promise.all([second, third])).resolves.toHaveLength(2);
    expect(held).toHaveLength(2);
  });

  it("rejects the ingest when the fdatasync fails (nothing acknowledged), then lets SQLite fsync again", async () => {
    const store = await openWithWal();
    const held = heldFdatasyncs();
    const ingest = store.inbox.ingest({ account: "acme", events: [event(1)] });
    await settled(ingest);
    held[0]?.done(eio());
    await expectRefused(ingest);
    // Later commits fsync inside SQLite (synchronous=FULL), as without this path.
    await expect(store.inbox.ingest({ account: "acme", events: [event(2)] })).resolves.toMatchObject({
      inserted: ["k2"],
    });
    expect(held).toHaveLength(1);
  });

  it("after a failed fdatasync, rejects the commits that waited for the next one too", async () => {
    const store = await openWithWal();
    const held = heldFdatasyncs();
    const first = store.inbox.ingest({ account: "acme", events: [event(1)] });
    await settled(first);
    const second = store.inbox.ingest({ account: "acme", events: [event(2)] });
    held[0]?.done(eio());
    for (const ingest of [first, second]) await expectRefused(ingest);
    expect(held).toHaveLength(1);
  });

  it("waits for the fdatasync in flight before the store closes", async () => {
    const store = await openWithWal();
    const held = heldFdatasyncs();
    const ingest = store.inbox.ingest({ account: "acme", events: [event(1)] });
    await settled(ingest);
    const closing = store.close();
    expect(await settled(closing)).toBe("pending");
    held[0]?.done(null);
    await closing;
    await expect(ingest).resolves.toMatchObject({ inserted: ["k1"] });
  });
});
