/** Options of `openSqliteStore()`, checked once when it is called. */
import { type Logger, MandrillKitConfigError, silentLogger } from "@mandrill-kit/core";
import { booleanOption, integerOption } from "@mandrill-kit/core/adapter";
import { checkOptions } from "@mandrill-kit/core/plugin";

/** Options of `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** Path of the database file (its folder is created if missing), or `":memory:"`. */
  filename: string;
  /**
   * How long a write waits for another connection's transaction (another process on the same file)
   * before failing with `ERR_MK_STORE_FAILED`.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /** Apply pending migrations on open. @default true */
  migrate?: boolean;
  /**
   * Upper bound of SQLite's page cache for this connection (allocated as used). Large enough to keep
   * the index `suppressions.check` probes in memory: about 40 MiB per million active suppressions.
   * @default 67108864 (64 MiB)
   */
  cacheSizeBytes?: number;
  /**
   * Run WAL checkpoints (the copy of committed pages into the database file) in a background thread
   * with its own connection, started once the store has ingested a few MB of webhook events, instead
   * of inside the commit that crosses `wal_autocheckpoint` (which blocks the event loop for the copy
   * and an fsync). Durability is the same either way. Ignored for `":memory:"`.
   * @default true
   */
  backgroundCheckpoints?: boolean;
  /** Receives an `info` entry per applied migration and a `warn` when old pages could not be purged. @default silentLogger */
  logger?: Logger;
}

/** {@link SqliteStoreOptions} with defaults applied. */
export type ResolvedSqliteOptions = Required<Omit<SqliteStoreOptions, "logger">> & { logger: Logger };

const FACTORY = "openSqliteStore";
const OPTION_NAMES = [
  "filename",
  "busyTimeoutMs",
  "migrate",
  "cacheSizeBytes",
  "backgroundCheckpoints",
  "logger",
] as const;

export function resolveOptions(options: SqliteStoreOptions): ResolvedSqliteOptions {
  const o = checkOptions(FACTORY, options, OPTION_NAMES);
  if (typeof o.filename !== "string" || o.filename.length === 0) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "filename",
      `openSqliteStore() needs filename: a path such as "./data/mandrill.db", or ":memory:"; received ${JSON.stringify(o.filename)}.`,
    );
  }
  return {
    filename: o.filename,
    busyTimeoutMs: integerOption(FACTORY, "busyTimeoutMs", o.busyTimeoutMs, 5000, 0),
    cacheSizeBytes: integerOption(FACTORY, "cacheSizeBytes", o.cacheSizeBytes, 64 * 1024 * 1024, 0),
    migrate: booleanOption(FACTORY, "migrate", o.migrate, true),
    backgroundCheckpoints: booleanOption(FACTORY, "backgroundCheckpoints", o.backgroundCheckpoints, true),
    logger: (o.logger as Logger | undefined) ?? silentLogger,
  };
}
