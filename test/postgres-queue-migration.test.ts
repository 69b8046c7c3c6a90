/**
 * Migrations 4 and 5 of @mandrill-kit/postgres (the dispatch queue moves from the `inbox` rows to
 * `inbox_pending` / `inbox_done`, then is keyed by due time) on a database written at migration 3,
 * migrated from there or from migration 4: pending events — due, leased, waiting for a retry — are
 * dispatched exactly as before, and done and dead events stay as they were.
 */
import { MIGRATIONS, openPostgresStore, type PostgresStore } from "@mandrill-kit/postgres";
import type { Dispatcher } from "@mandrill-kit/webhooks";
import { afterAll, describe, expect, it } from "vitest";
// One probe for every PostgreSQL test: skips with a message, or fails under MK_REQUIRE_POSTGRES=1.
import { available, databaseUrl, dropSchema, freshSchema, sql } from "../packages/postgres/test/database.js";
import {
  expectMigratedQueue,
  OLD_INBOX_COLUMNS,
  OLD_ROWS,
  oldInboxValues,
  T0,
} from "./queue-migration-scenario.js";

/**
 * A schema with OLD_ROWS written as migration 3's code writes them, then migrated up to `version`
 * (3 or more) by the migrations' SQL alone, as an older release of the package would have.
 */
async function schemaAt(schema: string, version: number): Promise<void> {
  const S = `"${schema}"`;
  await sql(`CREATE SCHEMA ${S}`);
  await sql(`CREATE TABLE ${S}.mk_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at BIGINT  NOT NULL
  )`);
  const apply = async (from: number, to: number) => {
    for (const m of MIGRATIONS.filter((m) => m.version >= from && m.version <= to)) {
      await sql(m.sql.replaceAll("SCHEMA.", `${S}.`));
      await sql(`INSERT INTO ${S}.mk_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [
        m.version,
        m.name,
        T0 - 100_000,
      ]);
    }
  };
  await apply(1, 3);
  for (const [i, r] of OLD_ROWS.entries()) {
    await sql(
      `INSERT INTO ${S}.inbox (account, email, ${OLD_INBOX_COLUMNS})
       VALUES ('acme', 'recipient@example.com', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      oldInboxValues(r, i),
    );
  }
  await apply(4, version);
}

describe.skipIf(!available).each([3, 4])("PostgreSQL dispatch queue, migrated from migration %i", (from) => {
  const schema = freshSchema(`queue_migration_${from}`);
  let store: PostgresStore | undefined;
  let dispatcher: Dispatcher | undefined;
  afterAll(async () => {
    await dispatcher?.close();
    await store?.close();
    await dropSchema(schema);
  });

  it("keeps pending, done and dead events; the dispatcher then runs exactly the pending ones", async () => {
    await schemaAt(schema, from);
    store = await openPostgresStore({ connectionString: databaseUrl, schema });
    expect(await store.schemaVersion()).toBe(MIGRATIONS.at(-1)?.version);
    expect(MIGRATIONS.at(-1)?.version).toBeGreaterThanOrEqual(5);
    await expectMigratedQueue(store, (d) => {
      dispatcher = d;
    });
  });
});
