import pg, { Client } from "pg";
import { afterAll } from "vitest";
import { componentMissing } from "../../../test/require-component.js";

/** The PostgreSQL these tests use; `MK_TEST_DATABASE_URL` overrides the local default. */
export const databaseUrl = process.env.MK_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Where the tests look, without credentials (for the skip message). */
export const databaseTarget = (() => {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname}:${url.port || "5432"}${url.pathname}`;
  } catch {
    return databaseUrl;
  }
})();

async function probe(): Promise<boolean> {
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Whether PostgreSQL answered. When not, the tests skip with a note saying how to enable them — or
 * fail, under `MK_REQUIRE_POSTGRES=1` (set by `.ci/run`).
 */
export const available = await probe();
if (!available) {
  componentMissing(
    "MK_REQUIRE_POSTGRES",
    `PostgreSQL not reachable at ${databaseTarget} — set MK_TEST_DATABASE_URL or start PostgreSQL to run these tests.`,
  );
}

let counter = 0;
/** A schema name unique to this process and call. */
export function freshSchema(prefix: string): string {
  counter += 1;
  return `mk_test_${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}

/** Runs one SQL statement on a short-lived connection. */
export async function sql(
  text: string,
  values: unknown[] = [],
): Promise<{ rows: Record<string, unknown>[] }> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** Drops a schema made by the tests. */
export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

// The seeded generator shared with the root tests.
export { random } from "../../../test/seeded-random.js";

/**
 * A pool whose clients record every statement they send, named by `label` (the text itself when it
 * gives none): tests assert which statements, and how many round trips, an operation makes.
 */
export function recordingPool(
  max: number,
  label: (text: string) => string | undefined,
): { pool: pg.Pool; statements: string[] } {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  pool.on("error", () => undefined);
  const statements: string[] = [];
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const config = args[0];
      const text = typeof config === "string" ? config : (config as { text: string }).text;
      statements.push(label(text) ?? text);
      return query(...args);
    };
  });
  return { pool, statements };
}

/**
 * `fresh(prefix)`: a new schema name for one test, every one of them dropped after the file's tests
 * (registers the `afterAll`; call it inside a `describe`).
 */
export function freshSchemas(): (prefix: string) => string {
  const schemas: string[] = [];
  afterAll(async () => {
    for (const schema of schemas) await dropSchema(schema);
  });
  return (prefix) => {
    const schema = freshSchema(prefix);
    schemas.push(schema);
    return schema;
  };
}
