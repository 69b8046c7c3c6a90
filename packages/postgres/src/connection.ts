/** The pool a store uses, and what every repository of the store shares through {@link PgContext}. */

import { storeClosed } from "@mandrill-kit/core/adapter";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";
import { Pool } from "pg";
import { type PgPlace, storeError } from "./errors.js";
import type { ResolvedPostgresOptions } from "./options.js";

/** What the repositories of one store share. */
export interface PgContext {
  readonly pool: Pool;
  /** The quoted schema name, to prefix table names with. */
  readonly S: string;
  readonly place: PgPlace;
  /** Runs `fn` unless the store is closed, mapping driver errors to store errors. */
  run<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

/** The store's pool: the one given, or a new one it owns (and ends on close). */
export interface StorePool {
  pool: Pool;
  /** Ends the pool if the store created it; a pool given by the host stays open. */
  release(): Promise<void>;
}

export function storePool(config: ResolvedPostgresOptions, place: PgPlace, log: ComponentLogger): StorePool {
  if (config.pool !== undefined) return { pool: config.pool, release: async () => undefined };
  const pool = new Pool({
    connectionString: config.connectionString,
    max: config.maxConnections,
    connectionTimeoutMillis: config.connectTimeoutMs,
    idleTimeoutMillis: config.idleTimeoutMs,
  });
  // An idle client losing its connection emits "error" on the pool; unhandled, it ends the process.
  const onPoolError = (error: Error): void => {
    log.warn(
      { error: error.message },
      `PostgreSQL connection at ${place.target} lost; the pool reconnects on next use`,
    );
  };
  pool.on("error", onPoolError);
  return {
    pool,
    release: async () => {
      await pool.end();
      pool.off("error", onPoolError);
    },
  };
}

/** The `run` of a store's context: every repository method goes through it. */
export function pgRunner(place: PgPlace, isClosed: () => boolean): PgContext["run"] {
  return async (what, fn) => {
    if (isClosed()) {
      throw storeClosed(
        `The PostgreSQL store (schema ${JSON.stringify(place.schema)} at ${place.target})`,
        what,
      );
    }
    try {
      return await fn();
    } catch (error) {
      throw storeError(place, what, error);
    }
  };
}
