/**
 * Applying the numbered migrations of `migrations.ts`: all pending ones in one transaction holding a
 * transaction-level advisory lock, so instances starting together take turns.
 */

import {
  latestVersion,
  type Migration,
  migrationFailed,
  requireCurrentSchema,
  type SchemaPlace,
  schemaTooNew,
} from "@mandrill-kit/core/adapter";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";
import type { Pool } from "pg";
import { type PgPlace, storeError } from "./errors.js";
import { MIGRATIONS } from "./migrations.js";
import { type Queryable, q, tx } from "./queries.js";

const LATEST = latestVersion(MIGRATIONS);

/** Migrations of one schema. */
export interface PgMigrator {
  /** Schema version applied (highest migration number), 0 before the first. */
  schemaVersion(db?: Queryable): Promise<number>;
  /** Applies pending migrations; `ERR_MK_STORE_SCHEMA_TOO_NEW` for a schema from a newer release. */
  migrate(): Promise<void>;
  /** For `migrate: false`: fails unless the schema is exactly the current one. */
  checkSchema(): Promise<void>;
}

export function pgMigrator(pool: Pool, place: PgPlace, log: ComponentLogger): PgMigrator {
  const S = `"${place.schema}"`;
  const where: SchemaPlace = {
    where: `The schema ${JSON.stringify(place.schema)} at ${place.target}`,
    adapter: "@mandrill-kit/postgres",
  };

  async function schemaVersion(db: Queryable = pool): Promise<number> {
    const exists = await q<{ t: string | null }>(db, "SELECT to_regclass($1) AS t", [`${S}.mk_migrations`]);
    if (exists.rows[0]?.t == null) return 0;
    const r = await q<{ v: number }>(
      db,
      `SELECT coalesce(max(version), 0)::int AS v FROM ${S}.mk_migrations`,
    );
    return r.rows[0]?.v ?? 0;
  }

  async function migrate(): Promise<void> {
    let applied: Migration[] = [];
    try {
      applied = await tx(pool, async (client) => {
        // Every instance may migrate on start: the lock (scoped to this transaction, so it cannot leak
        // on a dropped connection) makes them take turns; the later ones find nothing left to do.
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [
          `mandrill-kit:migrate:${place.schema}`,
        ]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${S}`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${S}.mk_migrations (
          version    INTEGER NOT NULL PRIMARY KEY,
          name       TEXT    NOT NULL,
          applied_at BIGINT  NOT NULL
        )`);
        const current = await schemaVersion(client);
        if (current > LATEST) throw schemaTooNew(where, current, LATEST);
        const done: Migration[] = [];
        for (const migration of MIGRATIONS) {
          if (migration.version <= current) continue;
          try {
            await client.query(migration.sql.replaceAll("SCHEMA.", `${S}.`));
          } catch (error) {
            throw migrationFailed(where, migration, error);
          }
          await client.query(
            `INSERT INTO ${S}.mk_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
            [migration.version, migration.name, Date.now()],
          );
          done.push(migration);
        }
        return done;
      });
    } catch (error) {
      throw storeError(place, "migrate", error);
    }
    for (const m of applied) log.info({ version: m.version }, `applied migration ${m.version}: ${m.name}`);
  }

  return {
    schemaVersion,
    migrate,
    checkSchema: async () => requireCurrentSchema(where, await schemaVersion(), LATEST),
  };
}
