/** The dispatch queue suite (test/dispatch-queue-suite.ts) on the PostgreSQL store, and how it lists pending events. */
import { queuedListSql, SqlParams } from "@mandrill-kit/core/adapter";
import { openPostgresStore, type PostgresStore } from "@mandrill-kit/postgres";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { dispatchQueueSuite, seedPendingAmongDone } from "../../../test/dispatch-queue-suite.js";
import { available, databaseUrl, dropSchema, freshSchema, sql } from "./database.js";

const schemas: string[] = [];
const stores: PostgresStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  for (const schema of schemas) await dropSchema(schema);
});

dispatchQueueSuite(
  "PostgreSQL dispatch queue",
  {
    async open() {
      const schema = freshSchema("queue");
      schemas.push(schema);
      const store = await openPostgresStore({ connectionString: databaseUrl, schema, maxConnections: 2 });
      stores.push(store);
      return store;
    },
    // A rewritten row gets a new tuple (ctid) written by another transaction (xmin).
    eventRows: async (store) =>
      (
        await sql(
          `SELECT key, ctid::text AS ctid, xmin::text AS xmin FROM "${store.schema}".inbox ORDER BY key`,
        )
      ).rows,
    emptyInbox: async (store) => {
      await sql(`TRUNCATE "${store.schema}".inbox RESTART IDENTITY`);
    },
  },
  !available,
);

/** Rows the plan's nodes on `relation` read (returned, or removed by a filter), over all their loops. */
function rowsRead(node: Record<string, unknown>, relation: string): number {
  const own =
    node["Relation Name"] === relation
      ? ((node["Actual Rows"] as number) +
          ((node["Rows Removed by Filter"] as number | undefined) ?? 0) +
          ((node["Rows Removed by Index Recheck"] as number | undefined) ?? 0)) *
        (node["Actual Loops"] as number)
      : 0;
  const children = (node.Plans as Record<string, unknown>[] | undefined) ?? [];
  return children.reduce((sum, child) => sum + rowsRead(child, relation), own);
}

describe.skipIf(!available)("PostgreSQL: pending events listed from the queue", () => {
  it("reads the queue's (account, seq) index and each event by its seq, not the account's done events", async () => {
    const schema = freshSchema("pending_list");
    schemas.push(schema);
    // A pool of the test's own, to see the statements the store sends.
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    const sent: string[] = [];
    const query = pool.query.bind(pool);
    pool.query = ((config: unknown, ...rest: unknown[]) => {
      if (typeof config === "object" && config !== null && "text" in config) sent.push(String(config.text));
      return (query as (...args: unknown[]) => unknown)(config, ...rest);
    }) as typeof pool.query;
    const store = await openPostgresStore({ pool, schema });
    try {
      await seedPendingAmongDone(store, { done: 5_000, otherPending: 3_000 });
      await sql(`ANALYZE "${schema}".inbox, "${schema}".inbox_pending, "${schema}".inbox_done`);
      for (const filter of [{ state: "pending" as const }, { state: "pending" as const, type: "open" }]) {
        const params = new SqlParams((n) => `$${n}`);
        const text = queuedListSql(`"${schema}"`, params, "acme", Number.MAX_SAFE_INTEGER, filter, 3);
        // The store's own statement is this one.
        sent.length = 0;
        await store.inbox.list("acme", { ...filter, limit: 2 });
        expect(sent).toEqual([text]);
        const { rows } = await sql(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params.values);
        const plan = (rows[0] as { "QUERY PLAN": [{ Plan: Record<string, unknown> }] })["QUERY PLAN"][0].Plan;
        // acme has 3 pending events (2 of type open) among 5,004, and "other" 3,000: the queue rows
        // read are acme's (and each event's own, joined), the event rows read are those 3.
        expect(rowsRead(plan, "inbox")).toBeLessThanOrEqual(3);
        expect(rowsRead(plan, "inbox_pending")).toBeLessThanOrEqual(3 + 3);
      }
    } finally {
      await store.close();
      await pool.end();
    }
  });
});
