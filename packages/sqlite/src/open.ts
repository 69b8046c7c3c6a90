/**
 * `openSqliteStore()`: every repository on one better-sqlite3 connection.
 *
 * ```
 * openSqliteStore ─ options.ts (checked once)
 *                 ─ connection.ts (file, pragmas, bookkeeping, purge of rewritten secrets)
 *                 ─ checkpointer.ts (WAL checkpoints in a background thread)
 *                 ─ migrate.ts + migrations.ts (numbered, IMMEDIATE, recorded in mk_migrations)
 *                 ─ credentials.ts · suppressions.ts · inbox.ts · sends.ts (one repository each)
 *                   └ rules shared with every store: @mandrill-kit/core/adapter
 * ```
 */
import { isMandrillKitError, type Store } from "@mandrill-kit/core";
import { storeFailed } from "@mandrill-kit/core/adapter";
import { componentLogger } from "@mandrill-kit/core/plugin";
import type Database from "better-sqlite3";
import { backgroundCheckpointer, inlineCheckpoints } from "./checkpointer.js";
import { bookkeeping, isOnDisk, openDatabase, purgeRetiredPages, type SqliteContext } from "./connection.js";
import { sqliteCredentials } from "./credentials.js";
import { sqliteRunner } from "./errors.js";
import { sqliteInbox } from "./inbox.js";
import { type SqliteMigrator, sqliteMigrator } from "./migrate.js";
import { resolveOptions, type SqliteStoreOptions } from "./options.js";
import { sqliteSends } from "./sends.js";
import { sqliteSuppressions } from "./suppressions.js";
import { inlineWalSync, walSync } from "./wal-sync.js";

/** A {@link Store} on one better-sqlite3 database. */
export interface SqliteStore extends Store {
  readonly kind: "sqlite";
  /** The database file (or `":memory:"`). */
  readonly filename: string;
  /** The underlying connection, for maintenance (`PRAGMA integrity_check`, backups). Do not write to it. */
  readonly database: Database.Database;
  /** Schema version applied (highest migration number). */
  schemaVersion(): number;
  /** `PRAGMA integrity_check`: `"ok"` when the file is sound. */
  integrityCheck(): string;
}

/** Creates the migrations table and migrates (or checks the schema); closes the connection on failure. */
function prepareSchema(
  db: Database.Database,
  filename: string,
  migrate: boolean,
  log: ReturnType<typeof componentLogger>,
): SqliteMigrator {
  try {
    const migrator = sqliteMigrator(db, filename, log);
    if (migrate) migrator.migrate();
    else migrator.checkSchema();
    return migrator;
  } catch (error) {
    db.close();
    if (isMandrillKitError(error)) throw error;
    throw storeFailed(
      `Could not open the SQLite database ${JSON.stringify(filename)}: ${(error as Error).message}`,
      error,
    );
  }
}

/**
 * Opens (creating if needed) a SQLite store: WAL journal, `synchronous=FULL` so an acknowledged
 * write survives power loss, `secure_delete` and a checkpoint after secrets are rewritten so retired
 * ciphertexts do not stay in the files, a busy timeout so several processes can share the file,
 * IMMEDIATE write transactions, and numbered migrations recorded in `mk_migrations` (applied on open
 * unless `migrate: false`).
 *
 * ```ts
 * const store = openSqliteStore({ filename: "./data/mandrill.db" });
 * ```
 */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const config = resolveOptions(options);
  const log = componentLogger(config.logger, { component: "store" });
  const db = openDatabase(config);
  const migrator = prepareSchema(db, config.filename, config.migrate, log);
  let closed = false;
  const checkpointer =
    config.backgroundCheckpoints && isOnDisk(config.filename)
      ? backgroundCheckpointer({
          filename: config.filename,
          busyTimeoutMs: config.busyTimeoutMs,
          log,
          autocheckpoint: (pages) => db.pragma(`wal_autocheckpoint = ${pages}`),
        })
      : inlineCheckpoints;
  const retiredPages = purgeRetiredPages(db, log, checkpointer);
  const durableCommits = isOnDisk(config.filename) ? walSync(db, config.filename) : inlineWalSync;
  const context: SqliteContext = {
    db,
    filename: config.filename,
    run: sqliteRunner(config.filename, () => closed, retiredPages),
    bookkeeping: bookkeeping(db, config.filename),
    retiredPages,
    checkpointer,
    walSync: durableCommits,
  };
  return {
    kind: "sqlite",
    filename: config.filename,
    database: db,
    schemaVersion: migrator.schemaVersion,
    integrityCheck: () => String(db.pragma("integrity_check", { simple: true })),
    credentials: sqliteCredentials(context),
    suppressions: sqliteSuppressions(context),
    inbox: sqliteInbox(context),
    sends: sqliteSends(context),
    migrate: () => context.run("migrate", migrator.migrate),
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all([checkpointer.close(), durableCommits.close()]);
      retiredPages.retryIfDue();
      db.close();
    },
  };
}
