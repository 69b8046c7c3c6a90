/**
 * Migration 5 of @mandrill-kit/sqlite (the dispatch queue moves from the `inbox` rows to
 * `inbox_pending` / `inbox_done`) on a file written at migration 4: pending events — due, leased,
 * waiting for a retry — are dispatched exactly as before, and done and dead events stay as they were.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATIONS, openSqliteStore, type SqliteStore } from "@mandrill-kit/sqlite";
import type { Dispatcher } from "@mandrill-kit/webhooks";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import {
  expectMigratedQueue,
  OLD_INBOX_COLUMNS,
  OLD_ROWS,
  oldInboxValues,
  T0,
} from "./queue-migration-scenario.js";

const dir = mkdtempSync(join(tmpdir(), "mk-sqlite-queue-"));

/** A file with OLD_ROWS written as migration 4's code wrote them, by the migrations' SQL alone. */
function fileAtMigration4(filename: string): void {
  const db = new Database(filename);
  db.exec(`CREATE TABLE mk_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  for (const m of MIGRATIONS.filter((m) => m.version <= 4)) {
    db.exec(m.sql);
    db.prepare("INSERT INTO mk_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
      m.version,
      m.name,
      T0 - 100_000,
    );
  }
  const insert = db.prepare(
    `INSERT INTO inbox (account, email, ${OLD_INBOX_COLUMNS})
     VALUES ('acme', 'recipient@example.com', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const [i, r] of OLD_ROWS.entries()) insert.run(...oldInboxValues(r, i));
  db.close();
}

describe("SQLite dispatch queue, migrated from migration 4", () => {
  let store: SqliteStore | undefined;
  let dispatcher: Dispatcher | undefined;
  afterAll(async () => {
    await dispatcher?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps pending, done and dead events; the dispatcher then runs exactly the pending ones", async () => {
    const filename = join(dir, "old.sqlite");
    fileAtMigration4(filename);
    store = openSqliteStore({ filename });
    expect(store.schemaVersion()).toBe(MIGRATIONS.at(-1)?.version);
    expect(MIGRATIONS.at(-1)?.version).toBeGreaterThanOrEqual(5);
    // The queue holds the six pending events; the event rows no longer do.
    const db = store.database;
    expect(db.prepare("SELECT count(*) AS n FROM inbox_pending").get()).toEqual({ n: 6 });
    expect(
      db
        .prepare(
          "SELECT count(*) AS n FROM inbox WHERE retired_next_attempt_at IS NOT NULL OR retired_lease_until IS NOT NULL",
        )
        .get(),
    ).toEqual({ n: 0 });
    // A process of an older version on the same file fails on its next inbox write (an ingest, a
    // claim, a completion) instead of writing behind the queue's back.
    for (const old of [
      "INSERT INTO inbox (account, key, type, raw, received_at, state, attempts, next_attempt_at) VALUES ('acme', 'x', 'send', '{}', 0, 'pending', 0, 0)",
      "UPDATE inbox SET lease_until = 1, attempts = attempts + 1 WHERE seq = 1",
      "UPDATE inbox SET state = 'done', lease_until = NULL, next_attempt_at = NULL, completed_at = 1 WHERE seq = 1",
    ]) {
      expect(() => db.prepare(old), old).toThrow(/no such column|has no column named/);
    }
    await expectMigratedQueue(store, (d) => {
      dispatcher = d;
    });
  });
});
