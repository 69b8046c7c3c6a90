/** The dispatch queue suite (test/dispatch-queue-suite.ts) on the SQLite store, and how it lists pending events. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queuedListSql, SqlParams } from "@mandrill-kit/core/adapter";
import { openSqliteStore, type SqliteStore } from "@mandrill-kit/sqlite";
import { afterAll, describe, expect, it, vi } from "vitest";
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

/** The SQL texts `store` prepares while `fn` runs (statements prepared on first use included). */
async function preparedDuring(store: SqliteStore, fn: () => Promise<unknown>): Promise<string[]> {
  const texts: string[] = [];
  const prepare = store.database.prepare.bind(store.database);
  const spy = vi.spyOn(store.database, "prepare").mockImplementation(((text: string) => {
    texts.push(text);
    return prepare(text);
  }) as never);
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return texts;
}

/** The plan of `text` (EXPLAIN QUERY PLAN), one line per step. */
function planOf(store: SqliteStore, text: string, params: unknown[] | Record<string, unknown>): string[] {
  return store.database
    .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${text}`)
    .all(...(Array.isArray(params) ? params : [params]))
    .map((r) => r.detail);
}

describe("SQLite: the queue's statements and their plans", () => {
  it("lists pending events from the queue's (account, seq) index, then each event by its seq: never a range of the account's events", async () => {
    const store = openSqliteStore({ filename: join(dir, "pending-list.sqlite") });
    stores.push(store);
    await seedPendingAmongDone(store, { done: 2_000 });
    for (const query of [{ state: "pending" as const }, { state: "pending" as const, type: "open" }]) {
      const params = new SqlParams(() => "?");
      const text = queuedListSql("main", params, "acme", Number.MAX_SAFE_INTEGER, query, 3);
      // The store's own statement is this one.
      expect(await preparedDuring(store, () => store.inbox.list("acme", { ...query, limit: 2 }))).toEqual([
        text,
      ]);
      const plan = planOf(store, text, params.values);
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

  it("claims for one account in the queue's claim order, never reading and sorting the account's whole queue", async () => {
    const store = openSqliteStore({ filename: join(dir, "account-claim.sqlite") });
    stores.push(store);
    // Ingested only: no claim has prepared its statement yet.
    await store.inbox.ingest({
      account: "other",
      receivedAt: Date.UTC(2026, 0, 1),
      events: Array.from({ length: 1_000 }, (_, i) => ({
        key: `o${i}`,
        type: i % 2 === 0 ? "send" : "open",
        email: null,
        messageId: null,
        eventAt: null,
        raw: "{}",
      })),
    });
    const calls: [string, () => Promise<unknown>][] = [
      ["claim", () => store.inbox.claim({ account: "other", limit: 2, now: Date.UTC(2026, 0, 2) })],
      ["typed claim", () => store.inbox.claim({ account: "other", types: ["send"], limit: 2 })],
      [
        "unwanted",
        async () => store.inbox.completeUnwanted?.({ account: "other", wanted: ["open"], limit: 2 }),
      ],
    ];
    for (const [name, call] of calls) {
      const [text] = (await preparedDuring(store, call)).filter((t) => t.includes("inbox_pending"));
      expect(text, name).toBeDefined();
      const plan = planOf(store, text as string, {
        now: 1,
        limit: 2,
        leaseMs: 1,
        account: "other",
        types: '["send"]',
        unknown: 0,
      }).join(" | ");
      expect(plan, name).toMatch(/SEARCH inbox_pending USING PRIMARY KEY \(next_attempt_at<\?\)/);
      expect(plan, name).not.toMatch(/inbox_pending_account|TEMP B-TREE/);
    }
  });
});
