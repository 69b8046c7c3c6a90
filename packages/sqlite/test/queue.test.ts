/** The dispatch queue suite (test/dispatch-queue-suite.ts) on the SQLite store. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStore, type SqliteStore } from "@mandrill-kit/sqlite";
import { afterAll } from "vitest";
import { dispatchQueueSuite } from "../../../test/dispatch-queue-suite.js";

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
