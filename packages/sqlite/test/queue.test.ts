/** The dispatch queue suite (test/dispatch-queue-suite.ts) on the SQLite store, and how it lists pending events. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queuedListSql, SqlParams } from "@mandrill-kit/core/adapter";
import { openSqliteStore, type SqliteStore } from "@mandrill-kit/sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { dispatchQueueSuite, seedPendingAmongDone } from "../../../test/dispatch-queue-suite.js";

const dir = mkdtempSync(join(tmpdir(), "mk-sqlite-queue-"));
const stores: SqliteStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;

dispatchQueueSuite("SQLite dispatch queue", {
  async open() {
    const store = openSqliteStore({ filename: join(dir, `queue-${++n}.sqlite`) });
    stores.push(store);
    // Every rewrite of an event row is counted (a trigger of this connection only).
    store.database.exec(`
      CREATE TEMP TABLE rewrites (seq INTEGER NOT NULL);
      CREATE TEMP TRIGGER inbox_rewritten AFTER UPDATE ON main.inbox BEGIN
        INSERT INTO rewrites (seq) VALUES (NEW.seq);
      END;`);
    return store;
  },
  eventRows: async (store) =>
    store.database
      .prepare(
        "SELECT key, (SELECT count(*) FROM temp.rewrites r WHERE r.seq = i.seq) AS rewrites FROM main.inbox i ORDER BY key",
      )
      .all(),
  emptyInbox: async (store) => {
    store.database.exec("DELETE FROM main.inbox");
  },
});

describe("SQLite: pending events listed from the queue", () => {
  it("reads the queue's (account, seq) index, then each event by its seq: never a range of the account's events", async () => {
    const store = openSqliteStore({ filename: join(dir, "pending-list.sqlite") });
    stores.push(store);
    await seedPendingAmongDone(store, { done: 2_000 });
    for (const query of [{ state: "pending" as const }, { state: "pending" as const, type: "open" }]) {
      const params = new SqlParams(() => "?");
      const text = queuedListSql("main", params, "acme", Number.MAX_SAFE_INTEGER, query, 3);
      const plan = store.database
        .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${text}`)
        .all(...params.values)
        .map((r) => r.detail);
      expect(plan).toContainEqual(
        expect.stringMatching(
          /^SEARCH q USING (COVERING )?INDEX inbox_pending_account \(account=\? AND seq<\?\)$/,
        ),
      );
      expect(plan.filter((d) => /^(SCAN|SEARCH) i\b/.test(d))).toEqual([
        expect.stringMatching(/\((account=\? AND )?(seq|rowid)=\?\)$/),
      ]);
    }
  });
});
