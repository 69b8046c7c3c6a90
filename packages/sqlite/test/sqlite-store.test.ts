import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMandrillKitError } from "@mandrill-kit/core";
import { MIGRATIONS, openSqliteStore, type SqliteStoreOptions } from "@mandrill-kit/sqlite";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { SUPPRESSION_CHECK_SQL } from "../src/queries.js";

const dir = mkdtempSync(join(tmpdir(), "mk-sqlite-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `db-${++n}.sqlite`);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isMandrillKitError(error) ? error.code : `not a kit error: ${String(error)}`;
  }
  return undefined;
}

describe("openSqliteStore", () => {
  it("uses WAL, synchronous=FULL, secure_delete and the busy timeout on a file", async () => {
    const store = openSqliteStore({ filename: fresh(), busyTimeoutMs: 1234 });
    expect(store.database.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(store.database.pragma("synchronous", { simple: true })).toBe(2);
    expect(store.database.pragma("secure_delete", { simple: true })).toBe(1);
    expect(store.database.pragma("busy_timeout", { simple: true })).toBe(1234);
    await store.close();
  });

  it("records numbered migrations in the database and applies them once", async () => {
    const filename = fresh();
    const first = openSqliteStore({ filename });
    const rows = first.database.prepare("SELECT version, name FROM mk_migrations ORDER BY version").all() as {
      version: number;
    }[];
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    await first.suppressions.add({
      account: "acme",
      email: "a@example.com",
      reason: "spam",
      source: "manual",
    });
    await first.close();
    const second = openSqliteStore({ filename });
    expect(second.schemaVersion()).toBe(MIGRATIONS.at(-1)?.version);
    expect(second.database.prepare("SELECT count(*) AS n FROM mk_migrations").get()).toEqual({
      n: MIGRATIONS.length,
    });
    expect(await second.suppressions.count("acme")).toBe(1);
    await second.close();
  });

  it("upgrades a schema-1 database in place: suppressions stored before the index are found through it", async () => {
    const filename = fresh();
    // A file as the first release left it: only migration 1 applied, rows written without the index.
    const raw = new Database(filename);
    raw.pragma("journal_mode = WAL");
    raw.exec(
      `CREATE TABLE mk_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
    );
    raw.exec(MIGRATIONS[0]?.sql ?? "");
    raw.prepare("INSERT INTO mk_migrations VALUES (1, ?, 0)").run(MIGRATIONS[0]?.name);
    const insert = raw.prepare(
      "INSERT INTO suppressions (account, email, reason, source, created_at, updated_at, expires_at, lifted_at) VALUES (?, ?, 'hard-bounce', 'webhook', 1, 1, ?, ?)",
    );
    insert.run("acme", "kept@example.com", null, null);
    insert.run("acme", "lifted@example.com", null, 5);
    insert.run("acme", "expired@example.com", 10, null);
    insert.run("other", "kept2@example.com", null, null);
    raw.close();

    const store = openSqliteStore({ filename });
    expect(store.schemaVersion()).toBe(MIGRATIONS.at(-1)?.version);
    const found = await store.suppressions.check(
      "acme",
      ["Kept@Example.com", "lifted@example.com", "expired@example.com", "kept2@example.com"],
      { now: 100 },
    );
    expect(found.map((s) => s.email)).toEqual(["kept@example.com"]);
    expect(store.integrityCheck()).toBe("ok");
    await store.close();
  });

  it("refuses a database migrated by a newer version of the kit", () => {
    const filename = fresh();
    openSqliteStore({ filename }).close();
    const raw = new Database(filename);
    raw.prepare("INSERT INTO mk_migrations (version, name, applied_at) VALUES (999, 'future', 0)").run();
    raw.close();
    expect(codeOf(() => openSqliteStore({ filename }))).toBe("ERR_MK_STORE_SCHEMA_TOO_NEW");
  });

  it("with migrate: false, refuses an unmigrated database and says how to fix it", () => {
    let message = "";
    try {
      openSqliteStore({ filename: fresh(), migrate: false });
    } catch (error) {
      message = (error as Error).message;
      expect((error as { code?: string }).code).toBe("ERR_MK_STORE_MIGRATION_FAILED");
    }
    expect(message).toMatch(/migrate: true/);
  });

  it("checks any number of addresses with one probe each of the narrow index of active entries", () => {
    const store = openSqliteStore({ filename: ":memory:" });
    const plan = store.database
      .prepare(`EXPLAIN QUERY PLAN ${SUPPRESSION_CHECK_SQL}`)
      .all({ emails: "[]", account: "a", now: 0 }) as { detail: string }[];
    const steps = plan.map((p) => p.detail);
    expect(steps[0]).toMatch(/SCAN j VIRTUAL TABLE/);
    expect(steps[1]).toMatch(/SEARCH s USING INDEX suppressions_active_by_email \(email=\? AND account=\?\)/);
    store.close();
  });

  it("rejects unknown options with a suggestion, and a missing filename", () => {
    expect(
      codeOf(() =>
        openSqliteStore({ filename: ":memory:", busyTimeout: 5 } as unknown as SqliteStoreOptions),
      ),
    ).toBe("ERR_MK_CONFIG_UNKNOWN_OPTION");
    try {
      openSqliteStore({ filename: ":memory:", busyTimeout: 5 } as unknown as SqliteStoreOptions);
    } catch (error) {
      expect((error as Error).message).toMatch(/Did you mean "busyTimeoutMs"/);
    }
    expect(codeOf(() => openSqliteStore({} as SqliteStoreOptions))).toBe("ERR_MK_CONFIG_INVALID");
    expect(codeOf(() => openSqliteStore({ filename: ":memory:", busyTimeoutMs: -1 }))).toBe(
      "ERR_MK_CONFIG_INVALID",
    );
  });

  it("reports a file that is not a database as a store error", () => {
    const filename = fresh();
    writeFileSync(filename, "this is not a SQLite database, just some text that is long enough ".repeat(20));
    expect(codeOf(() => openSqliteStore({ filename }))).toMatch(/ERR_MK_STORE_(FAILED|MIGRATION_FAILED)/);
  });

  it("keeps acknowledged writes across a reopen of the file", async () => {
    const filename = fresh();
    const store = openSqliteStore({ filename });
    await store.inbox.ingest({
      account: "acme",
      events: [
        {
          key: "k",
          type: "spam",
          email: "s@example.com",
          messageId: "m",
          eventAt: 1,
          raw: "{}",
          effects: [
            {
              op: "suppress",
              email: "s@example.com",
              reason: "spam",
              source: "webhook",
              detail: null,
              expiresAt: null,
            },
          ],
        },
      ],
    });
    await store.close();
    const again = openSqliteStore({ filename });
    expect((await again.inbox.get("acme", "k"))?.type).toBe("spam");
    expect(await again.suppressions.check("acme", ["s@example.com"])).toHaveLength(1);
    expect(again.integrityCheck()).toBe("ok");
    await again.close();
  });
});

describe("file permissions", () => {
  it("creates a missing folder 0700 and a new database file 0600", async () => {
    const { statSync } = await import("node:fs");
    const folder = join(dir, "private", "deeper");
    const filename = join(folder, "mandrill.db");
    const store = openSqliteStore({ filename });
    await store.suppressions.add({
      account: "acme",
      email: "a@example.com",
      reason: "spam",
      source: "manual",
    });
    expect(statSync(filename).mode & 0o777).toBe(0o600);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    expect(statSync(`${filename}-wal`).mode & 0o777).toBe(0o600);
    await store.close();
  });
});

describe("commit durability", () => {
  it("keeps synchronous=FULL for acknowledged writes after bookkeeping commits (claims, completes, send records)", async () => {
    const store = openSqliteStore({ filename: fresh() });
    const full = () => store.database.pragma("synchronous", { simple: true });
    await store.inbox.ingest({
      account: "acme",
      events: [{ key: "k", type: "send", email: "a@example.com", messageId: "m", eventAt: 1, raw: "{}" }],
    });
    await store.inbox.claim();
    expect(full()).toBe(2);
    await store.inbox.completeMany([{ account: "acme", key: "k" }]);
    await store.sends.record([
      {
        account: "acme",
        email: "a@example.com",
        status: "sent",
        messageId: "m",
        rejectReason: null,
        transport: "api",
        correlationId: null,
        subject: null,
      },
    ]);
    expect(full()).toBe(2);
    await expect(store.inbox.fail("acme", "missing", { error: "x", retryAt: null })).rejects.toMatchObject({
      code: "ERR_MK_NOT_FOUND",
    });
    expect(full()).toBe(2);
    await store.close();
  });
});
