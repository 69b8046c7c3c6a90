/** Running statements and transactions on the pool: BIGINTs read as numbers, races retried. */
import { MandrillKitStoreError } from "@mandrill-kit/core";
import { type Pool, type PoolClient, types as pgTypes, type QueryResultRow } from "pg";
import { MAX_ATTEMPTS, RaceLost, RunAgain } from "./errors.js";

// BIGINT (epoch ms, sequence numbers, counts) as JS numbers. Set per query, never on pg's global
// `types` registry, so a pool shared with the host app keeps its own parsing.
const INT8_OID = 20;
const queryTypes = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID
      ? (value: string) => Number(value)
      : pgTypes.getTypeParser(oid, format ?? "text")) as typeof pgTypes.getTypeParser,
};

/** SQLSTATEs worth running a transaction again for: serialization failure, deadlock, unique race. */
const RETRYABLE = new Set(["40001", "40P01", "23505"]);

/** The pool, or a client inside a transaction. */
export type Queryable = Pick<Pool | PoolClient, "query">;

/** One statement with the kit's type parsing. */
export async function q<R extends QueryResultRow>(
  db: Queryable,
  text: string,
  values: unknown[] = [],
): Promise<{ rows: R[]; rowCount: number }> {
  const result = await db.query<R>({ text, values, types: queryTypes });
  return { rows: result.rows, rowCount: result.rowCount ?? 0 };
}

/** One transaction, run again (with jitter) when it lost a race to another instance; at once on {@link RunAgain}. */
export function tx<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  return txWithLast(pool, async (client) => ({ result: await fn(client), last: "" }));
}

/**
 * {@link tx} whose `fn` also returns the transaction's last statements (`last`: SQL without parameters,
 * `;`-separated, or ""), sent with the COMMIT in one round trip. If one of them fails, the COMMIT is
 * not run (the server skips the rest of the text) and the transaction is rolled back as on any error.
 */
export async function txWithLast<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<{ result: T; last: string }>,
  options: { single?: boolean; begin?: string } = {},
): Promise<T> {
  // single: `fn` runs one statement (no `last`), committed on its own as it completes: no BEGIN,
  // COMMIT or ROLLBACK round trips, and as durable when it resolves (synchronous_commit applies).
  // begin: the transaction's first statements in place of BEGIN alone (e.g. SET LOCAL), one round trip.
  const single = options.single === true;
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken = false;
    try {
      if (!single) await client.query(options.begin ?? "BEGIN");
      const { result, last } = await fn(client);
      if (!single) await client.query(last === "" ? "COMMIT" : `${last}; COMMIT`);
      else if (last !== "") {
        throw new MandrillKitStoreError("ERR_MK_STORE_FAILED", "A single statement has no last statements.");
      }
      return result;
    } catch (error) {
      try {
        if (!single) await client.query("ROLLBACK");
      } catch {
        broken = true;
      }
      const code = (error as { code?: string }).code;
      const retry = error instanceof RaceLost || (code !== undefined && RETRYABLE.has(code));
      if (!retry || attempt >= MAX_ATTEMPTS) {
        if (error instanceof RaceLost) {
          throw new MandrillKitStoreError(
            "ERR_MK_STORE_CONFLICT",
            `${error.message} after ${MAX_ATTEMPTS} attempts; try again.`,
          );
        }
        throw error;
      }
      if (error instanceof RunAgain) continue;
    } finally {
      client.release(broken);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
  }
}
