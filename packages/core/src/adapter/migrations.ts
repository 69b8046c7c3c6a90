/** Schema versions of SQL stores: the migration shape and the errors for a schema that does not fit. */
import { MandrillKitStoreError } from "../errors.js";

/** One numbered schema migration of a SQL store. Published migrations are never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Where a schema lives and who reads it, for the messages below. */
export interface SchemaPlace {
  /** E.g. `The database "./data/mandrill.db"` or `The schema "mandrill_kit" at db:5432/app`. */
  where: string;
  /** The adapter package, e.g. `@mandrill-kit/sqlite`. */
  adapter: string;
}

/** The highest version of `migrations` (0 for none). */
export function latestVersion(migrations: readonly Migration[]): number {
  return migrations[migrations.length - 1]?.version ?? 0;
}

/** `ERR_MK_STORE_SCHEMA_TOO_NEW`: a newer release of the adapter migrated this schema. */
export function schemaTooNew(place: SchemaPlace, current: number, latest: number): MandrillKitStoreError {
  return new MandrillKitStoreError(
    "ERR_MK_STORE_SCHEMA_TOO_NEW",
    `${place.where} is at schema version ${current}, newer than this version of ${place.adapter} knows (${latest}). Upgrade the package.`,
  );
}

/**
 * For a store opened with `migrate: false`: throws `ERR_MK_STORE_SCHEMA_TOO_NEW` or
 * `ERR_MK_STORE_MIGRATION_FAILED` unless the schema is exactly at `latest`.
 */
export function requireCurrentSchema(place: SchemaPlace, current: number, latest: number): void {
  if (current > latest) throw schemaTooNew(place, current, latest);
  if (current < latest) {
    throw new MandrillKitStoreError(
      "ERR_MK_STORE_MIGRATION_FAILED",
      `${place.where} is at schema version ${current}; this version needs ${latest}. Open it with migrate: true or call store.migrate().`,
    );
  }
}

/** `ERR_MK_STORE_MIGRATION_FAILED` for one migration that failed, with the driver's error as cause. */
export function migrationFailed(
  place: SchemaPlace,
  migration: Migration,
  error: unknown,
): MandrillKitStoreError {
  return new MandrillKitStoreError(
    "ERR_MK_STORE_MIGRATION_FAILED",
    `Migration ${migration.version} (${migration.name}) failed on ${place.where.replace(/^The /, "the ")}: ${(error as Error).message}`,
    { cause: error },
  );
}
