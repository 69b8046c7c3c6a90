/**
 * The ingest insert (ingest.ts) leaves out the keys it finds already stored and is a plain INSERT, so
 * a key that a concurrent transaction stores first fails it on the unique index and the ingest runs
 * again: every event must still be stored once and reported new exactly once.
 */
import type { InboxEventInput } from "@mandrill-kit/core";
import { openPostgresStore } from "@mandrill-kit/postgres";
import { afterAll, describe, expect, it } from "vitest";
import { available, databaseUrl, dropSchema, freshSchema, sql } from "./database.js";

const event = (key: string): InboxEventInput => ({
  key,
  type: "send",
  email: `${key}@example.com`,
  messageId: null,
  eventAt: 1_700_000_000_000,
  raw: `{"k":"${key}"}`,
});

describe.skipIf(!available)("PostgreSQL ingest statement", () => {
  const schemas: string[] = [];
  const fresh = (prefix: string) => {
    const schema = freshSchema(prefix);
    schemas.push(schema);
    return schema;
  };
  afterAll(async () => {
    for (const schema of schemas) await dropSchema(schema);
  });

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
});
