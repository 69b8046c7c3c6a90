/** How a PostgreSQL store reports failures: driver errors mapped to kit codes, never a password. */
import { isMandrillKitError, MandrillKitStoreError } from "@mandrill-kit/core";
import { storeFailed } from "@mandrill-kit/core/adapter";

/** How many times a transaction that lost a race to another instance runs before giving up. */
export const MAX_ATTEMPTS = 5;

/** Thrown inside a transaction when a concurrent writer won a race; the transaction is run again. */
export class RaceLost extends MandrillKitStoreError {
  constructor(message: string) {
    super("ERR_MK_STORE_CONFLICT", message);
  }
}

/**
 * A {@link RaceLost} that needs no wait before the transaction runs again: the attempt chose a cheaper
 * way that the data turned out not to allow (see ingest.ts), and the next attempt takes the other way.
 */
export class RunAgain extends RaceLost {}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** `host:port/database` of a connection string, without user or password (for messages). */
export function describeTarget(connectionString: string | undefined): string {
  if (connectionString === undefined) return "the given pool";
  try {
    const url = new URL(connectionString);
    return `${url.hostname || "localhost"}:${url.port || "5432"}${url.pathname || ""}`;
  } catch {
    return "the configured server";
  }
}

/** Where the store's tables are, for messages. */
export interface PgPlace {
  schema: string;
  /** From {@link describeTarget}. */
  target: string;
}

/**
 * Maps what the driver threw to a store error: a unique race lost after every retry is
 * `ERR_MK_STORE_CONFLICT`, an unreachable server and any other failure `ERR_MK_STORE_FAILED`, missing
 * tables `ERR_MK_STORE_MIGRATION_FAILED`. Kit errors pass unchanged.
 */
export function storeError(place: PgPlace, what: string, error: unknown): Error {
  if (isMandrillKitError(error)) return error;
  const e = error as { code?: string; message?: string; errors?: { code?: string }[] };
  const code = e.code ?? e.errors?.[0]?.code;
  if (code === "23505") {
    return new MandrillKitStoreError(
      "ERR_MK_STORE_CONFLICT",
      `PostgreSQL ${what} conflicted with a concurrent write and was not applied after ${MAX_ATTEMPTS} attempts; try again.`,
      { cause: error },
    );
  }
  const unreachable =
    code === undefined
      ? /timeout exceeded when trying to connect|Connection terminated/i.test(e.message ?? "")
      : CONNECTION_CODES.has(code) || code.startsWith("08") || code === "57P01";
  if (unreachable) {
    return storeFailed(
      `PostgreSQL ${what} failed: could not reach the server at ${place.target} (${code ?? e.message}). Start PostgreSQL or fix the connection string / pool settings.`,
      error,
    );
  }
  if (code === "3F000" || code === "42P01") {
    return new MandrillKitStoreError(
      "ERR_MK_STORE_MIGRATION_FAILED",
      `PostgreSQL ${what} failed: the schema ${JSON.stringify(place.schema)} at ${place.target} is missing its tables. Open the store with migrate: true or call store.migrate().`,
      { cause: error },
    );
  }
  const message =
    e.message || (e.errors !== undefined ? `${e.errors.length} connection errors` : String(error));
  return storeFailed(
    `PostgreSQL ${what} failed on ${place.target}: ${message}${code === undefined ? "" : ` (SQLSTATE ${code})`}`,
    error,
  );
}
