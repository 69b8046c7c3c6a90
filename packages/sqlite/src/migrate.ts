/**
 * Applying the numbered migrations of `migrations.ts`: each in its own IMMEDIATE transaction that
 * re-reads the schema version (another process may have applied it meanwhile), recorded in
 * `mk_migrations`.
 */
import { isMandrillKitError } from "@mandrill-kit/core";
import {
  latestVersion,
  migrationFailed,
  requireCurrentSchema,
  type SchemaPlace,
  schemaTooNew,
} from "@mandrill-kit/core/adapter";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";
import type Database from "better-sqlite3";
import { MIGRATIONS } from "./migrations.js";

const LATEST = latestVersion(MIGRATIONS);

/** Migrations of one database. */
export interface SqliteMigrator {
  /** Schema version applied (highest migration number). */
  schemaVersion(): number;
  /** Applies pending migrations; `ERR_MK_STORE_SCHEMA_TOO_NEW` for a database from a newer release. */
  migrate(): void;
  /** For `migrate: false`: fails unless the schema is exactly the current one. */
  checkSchema(): void;
}

export function sqliteMigrator(
  db: Database.Database,
  filename: string,
  log: ComponentLogger,
): SqliteMigrator {
  const place: SchemaPlace = {
    where: `The database ${JSON.stringify(filename)}`,
    adapter: "@mandrill-kit/sqlite",
  };
  db.exec(`CREATE TABLE IF NOT EXISTS mk_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const readVersion = db.prepare<[], { v: number }>(
    "SELECT coalesce(max(version), 0) AS v FROM mk_migrations",
  );
  const record = db.prepare<[number, string, number]>(
    "INSERT INTO mk_migrations (version, name, applied_at) VALUES (?, ?, ?)",
  );
  const schemaVersion = (): number => (readVersion.get() as { v: number }).v;

  return {
    schemaVersion,
    migrate() {
      for (const migration of MIGRATIONS) {
        const apply = db.transaction(() => {
          // Re-read inside the IMMEDIATE transaction: another process may have applied it meanwhile.
          const current = schemaVersion();
          if (current > LATEST) throw schemaTooNew(place, current, LATEST);
          if (current >= migration.version) return false;
          db.exec(migration.sql);
          record.run(migration.version, migration.name, Date.now());
          return true;
        });
        try {
          if (apply.immediate())
            log.info(
              { version: migration.version },
              `applied migration ${migration.version}: ${migration.name}`,
            );
        } catch (error) {
          if (isMandrillKitError(error)) throw error;
          throw migrationFailed(place, migration, error);
        }
      }
    },
    checkSchema: () => requireCurrentSchema(place, schemaVersion(), LATEST),
  };
}
