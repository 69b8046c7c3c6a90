/**
 * The ingest insert (ingest.ts) is a plain INSERT: first of every key (no probe of the stored keys),
 * then, when a key turns out stored already (23505), at once again leaving out the keys it finds
 * stored. A key that a concurrent transaction stores first fails it the same way: every event must
 * still be stored once and reported new exactly once.
 */
import type { InboxEventInput } from "@mandrill-kit/core";
import { openPostgresStore } from "@mandrill-kit/postgres";
import { describe, expect, it } from "vitest";
import { available, databaseUrl, freshSchemas, recordingPool, sql } from "./database.js";

const event = (key: string): InboxEventInput => ({
  key,
  type: "send",
  email: `${key}@example.com`,
  messageId: null,
  eventAt: 1_700_000_000_000,
  raw: `{"k":"${key}"}`,
});

describe.skipIf(!available)("PostgreSQL ingest statement", () => {
  const fresh = freshSchemas();

  it("reports each key new exactly once across overlapping concurrent batches on two instances", async () => {
    const schema = fresh("race");
    const [a, b] = [
      await openPostgresStore({ connectionString: databaseUrl, schema, maxConnections: 4 }),
      await openPostgresStore({ connectionString: databaseUrl, schema, maxConnections: 4 }),
    ];
    try {
      // 12 batches of 60 keys out of 200, each overlapping others, half through each instance.
      const batches = Array.from({ length: 12 }, (_, n) =>
        Array.from({ length: 60 }, (_, i) => event(`k${(n * 37 + i * 3) % 200}`)),
      );
      const results = await Promise.all(
        batches.map((events, n) =>
          (n % 2 === 0 ? a : b).inbox.ingest({ account: "acme", receivedAt: 1, events }),
        ),
      );
      const inserted = results.flatMap((r) => r.inserted);
      const offered = new Set(batches.flat().map((e) => e.key));
      expect(inserted.length).toBe(offered.size);
      expect(new Set(inserted)).toEqual(offered);
      for (const [n, r] of results.entries()) {
        expect([...r.inserted, ...r.duplicates].sort()).toEqual((batches[n] ?? []).map((e) => e.key).sort());
      }
      const { rows } = await sql(
        `SELECT count(*)::int AS n, count(DISTINCT key)::int AS k FROM "${schema}".inbox`,
      );
      expect(rows[0]).toEqual({ n: offered.size, k: offered.size });
      expect((await a.inbox.backlog?.())?.pending).toBe(offered.size);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("inserts a new batch without probing the stored keys, probes only after a key was found stored, and commits a batch without effects on its own", async () => {
    const schema = fresh("probe");
    const { pool, statements } = recordingPool(2, (text) =>
      text.includes(".inbox (") ? (text.includes("NOT EXISTS") ? "INSERT+probe" : "INSERT") : undefined,
    );
    const store = await openPostgresStore({ pool, schema });
    statements.length = 0; // the migrations
    try {
      const first = await store.inbox.ingest({
        account: "acme",
        receivedAt: 1,
        events: [event("a"), event("b")],
      });
      expect(first).toMatchObject({ inserted: ["a", "b"], duplicates: [] });
      // No effects: the statement alone, committed on its own.
      expect(statements).toEqual(["INSERT"]);
      statements.length = 0;
      const again = await store.inbox.ingest({
        account: "acme",
        receivedAt: 2,
        events: [event("c"), event("b"), event("d")],
      });
      expect(again).toMatchObject({ inserted: ["c", "d"], duplicates: ["b"] });
      expect(statements).toEqual(["INSERT", "INSERT+probe"]);
      const { rows } = await sql(`SELECT key FROM "${schema}".inbox ORDER BY seq`);
      expect(rows.map((r) => r.key)).toEqual(["a", "b", "c", "d"]);
    } finally {
      await store.close();
      await pool.end();
    }
  });
});
