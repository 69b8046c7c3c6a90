/**
 * `openPostgresStore()`: every repository on a `pg` pool.
 *
 * ```
 * openPostgresStore ─ options.ts (checked once)
 *                   ─ connection.ts (pool, run) · queries.ts (q, tx with retries) · errors.ts
 *                   ─ migrate.ts + migrations.ts (advisory-locked, recorded in mk_migrations)
 *                   ─ credentials.ts · suppressions.ts · inbox.ts (+ ingest.ts) · sends.ts
 *                     └ rules shared with every store: @mandrill-kit/core/adapter
 * ```
 */
import type { Store } from "@mandrill-kit/core";
import { componentLogger } from "@mandrill-kit/core/plugin";
import type { Pool } from "pg";
import { type PgContext, pgRunner, storePool } from "./connection.js";
import { pgCredentials } from "./credentials.js";
import { describeTarget, type PgPlace, storeError } from "./errors.js";
import { pgInbox } from "./inbox.js";
import { pgMigrator } from "./migrate.js";
import { type PostgresStoreOptions, resolveOptions } from "./options.js";
import { pgSends } from "./sends.js";
import { pgSuppressions } from "./suppressions.js";

/** A {@link Store} on PostgreSQL. */
export interface PostgresStore extends Store {
  readonly kind: "postgres";
  /** The schema holding the tables. */
  readonly schema: string;
  /** The pool in use (yours, or the one the store created). Do not write to the store's tables. */
  readonly pool: Pool;
  /** Schema version applied (highest migration number). */
  schemaVersion(): Promise<number>;
}

/**
 * Opens a PostgreSQL store: checks the options, connects, and applies pending migrations (unless
 * `migrate: false`, which instead fails when the schema is not current). Resolves once the store is
 * usable; a server that cannot be reached rejects with `ERR_MK_STORE_FAILED`.
 *
 * ```ts
 * const store = await openPostgresStore({ connectionString: process.env.DATABASE_URL });
 * ```
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const config = resolveOptions(options);
  const log = componentLogger(config.logger, { component: "store" });
  const place: PgPlace = { schema: config.schema, target: describeTarget(config.connectionString) };
  const { pool, release } = storePool(config, place, log);
  const migrator = pgMigrator(pool, place, log);
  try {
    if (config.migrate) await migrator.migrate();
    else await migrator.checkSchema();
  } catch (error) {
    await release().catch(() => undefined);
    throw storeError(place, "open", error);
  }
  let closed = false;
  const context: PgContext = { pool, S: `"${config.schema}"`, place, run: pgRunner(place, () => closed) };
  return {
    kind: "postgres",
    schema: config.schema,
    pool,
    schemaVersion: () => context.run("schemaVersion", () => migrator.schemaVersion()),
    credentials: pgCredentials(context),
    suppressions: pgSuppressions(context),
    inbox: pgInbox(context),
    sends: pgSends(context),
    migrate: () => context.run("migrate", migrator.migrate),
    close: async () => {
      if (closed) return;
      closed = true;
      await release();
    },
  };
}
