/** The dispatch queue suite (test/dispatch-queue-suite.ts) on the PostgreSQL store. */
import { openPostgresStore, type PostgresStore } from "@mandrill-kit/postgres";
import { afterAll } from "vitest";
import { dispatchQueueSuite } from "../../../test/dispatch-queue-suite.js";
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
