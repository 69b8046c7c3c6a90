/** Options of `openPostgresStore()`, checked once when it is called. */
import { type Logger, MandrillKitConfigError, silentLogger } from "@mandrill-kit/core";
import { booleanOption, integerOption } from "@mandrill-kit/core/adapter";
import { checkOptions } from "@mandrill-kit/core/plugin";
import type { Pool } from "pg";

/** Options of `openPostgresStore`: give exactly one of `connectionString` and `pool`. */
export interface PostgresStoreOptions {
  /**
   * `postgres://user:password@host:5432/database`. The store creates (and on `close()` ends) its own
   * `pg.Pool`.
   */
  connectionString?: string;
  /**
   * A `pg.Pool` you own (shared with your app, or configured with TLS and so on). The store never
   * ends it: `close()` only stops the store from using it. Attach your own `pool.on("error")` listener.
   */
  pool?: Pool;
  /**
   * Schema holding the tables (created if missing). Use one schema per deployment, or per test file.
   * Letters, digits and `_` only.
   * @default "mandrill_kit"
   */
  schema?: string;
  /** Apply pending migrations while opening; with `false`, opening fails unless the schema is current. @default true */
  migrate?: boolean;
  /** Connections of the pool the store creates (ignored with `pool`). @default 10 */
  maxConnections?: number;
  /** How long to wait for a connection before failing with `ERR_MK_STORE_FAILED` (ignored with `pool`). @default 5000 */
  connectTimeoutMs?: number;
  /**
   * How long a connection of the pool the store creates stays open unused; 0 keeps it until `close()`
   * (ignored with `pool`). `pg`'s own default, 10 s, closes it between webhook batches a few seconds
   * apart: the next batch then waits for a new connection, whose server process starts cold (here its
   * first 1,000-event batch took 68–103 ms instead of ~25). @default 300000
   */
  idleTimeoutMs?: number;
  /** Receives migration and connection entries. @default silentLogger */
  logger?: Logger;
}

/** {@link PostgresStoreOptions} checked, with defaults applied. */
export interface ResolvedPostgresOptions {
  connectionString: string | undefined;
  pool: Pool | undefined;
  schema: string;
  migrate: boolean;
  maxConnections: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  logger: Logger;
}

const FACTORY = "openPostgresStore";
const OPTION_NAMES = [
  "connectionString",
  "pool",
  "schema",
  "migrate",
  "maxConnections",
  "connectTimeoutMs",
  "idleTimeoutMs",
  "logger",
] as const;

function checkSource(o: Record<string, unknown>): void {
  const hasString = o.connectionString !== undefined;
  const hasPool = o.pool !== undefined;
  if (hasString === hasPool) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "connectionString",
      `openPostgresStore() needs exactly one of connectionString (e.g. "postgres://user@127.0.0.1:5432/app") and pool (a pg.Pool); received ${hasString ? "both" : "neither"}.`,
    );
  }
  if (
    hasString &&
    (typeof o.connectionString !== "string" || !/^postgres(ql)?:\/\//.test(o.connectionString))
  ) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "connectionString",
      `openPostgresStore() connectionString must be a postgres:// or postgresql:// URL; received ${typeof o.connectionString === "string" ? JSON.stringify(o.connectionString.replace(/:[^:@/]*@/, ":…@")) : typeof o.connectionString}.`,
    );
  }
  if (
    hasPool &&
    (typeof o.pool !== "object" || o.pool === null || typeof (o.pool as Pool).connect !== "function")
  ) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "pool",
      "openPostgresStore() pool must be a pg.Pool (new Pool({ ... }) from the pg package).",
    );
  }
}

export function resolveOptions(options: PostgresStoreOptions): ResolvedPostgresOptions {
  const o = checkOptions(FACTORY, options, OPTION_NAMES);
  checkSource(o);
  const schema = o.schema ?? "mandrill_kit";
  if (typeof schema !== "string" || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "schema",
      `openPostgresStore() schema must be 1–63 letters, digits or "_", not starting with a digit; received ${JSON.stringify(schema)}.`,
    );
  }
  return {
    connectionString: o.connectionString as string | undefined,
    pool: o.pool as Pool | undefined,
    schema,
    migrate: booleanOption(FACTORY, "migrate", o.migrate, true),
    maxConnections: integerOption(FACTORY, "maxConnections", o.maxConnections, 10, 1),
    connectTimeoutMs: integerOption(FACTORY, "connectTimeoutMs", o.connectTimeoutMs, 5000, 1),
    idleTimeoutMs: integerOption(FACTORY, "idleTimeoutMs", o.idleTimeoutMs, 300_000, 0),
    logger: (o.logger as Logger | undefined) ?? silentLogger,
  };
}
