/**
 * An event given as UTF-8 bytes (`rawUtf8`, how the webhook router's parse threads hand events over)
 * is written as those bytes: its text is never decoded into a string on the way in, and it reads back
 * as that text, in a UTF-8 database (every one the store creates) and in one made as UTF-16.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InboxEventInput } from "@mandrill-kit/core";
import { Utf8InboxEvent } from "@mandrill-kit/core/plugin";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "mk-sqlite-raw-utf8-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());
let n = 0;
const fresh = () => join(dir, `db-${++n}.sqlite`);

const TEXT = JSON.stringify({ event: "send", _id: "m1", msg: { subject: "Zoë — 📦 shipped" } });

/** An event whose text is only its bytes: reading `raw` of the input itself fails the test. */
function bytesOnly(key: string): InboxEventInput {
  const bytes = Buffer.from(`[${TEXT}]`, "utf8");
  return {
    key,
    type: "send",
    email: "zoe@example.com",
    messageId: "m1",
    eventAt: 1_700_000_000_000,
    rawUtf8: bytes.subarray(1, -1),
    get raw(): string {
      throw new Error("the store read raw instead of rawUtf8");
    },
  };
}

describe("SQLite inbox: events given as UTF-8 bytes", () => {
  it("writes the bytes without decoding them, and reads back the text", async () => {
    const store = openSqliteStore({ filename: fresh() });
    const decode = vi.spyOn(Utf8InboxEvent.prototype, "raw", "get");
    const result = await store.inbox.ingest({ account: "acme", events: [bytesOnly("k1")] });
    expect(result.inserted).toEqual(["k1"]);
    expect(decode).not.toHaveBeenCalled();
    expect((await store.inbox.get("acme", "k1"))?.raw).toBe(TEXT);
    const stored = store.database.prepare("SELECT typeof(raw) AS t FROM inbox WHERE key = 'k1'").get();
    expect(stored).toEqual({ t: "text" });
    await store.close();
  });

  it("stores the same text in a database made as UTF-16 (the bytes are decoded there)", async () => {
    const filename = fresh();
    const db = new Database(filename);
    db.pragma("encoding = 'UTF-16le'");
    db.exec("CREATE TABLE made_first (x)");
    db.close();
    const store = openSqliteStore({ filename });
    expect(store.database.pragma("encoding", { simple: true })).toBe("UTF-16le");
    await store.inbox.ingest({
      account: "acme",
      events: [bytesOnly("k2")],
    });
    expect((await store.inbox.get("acme", "k2"))?.raw).toBe(TEXT);
    await store.close();
  });
});
