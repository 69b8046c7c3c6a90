/** The PostgreSQL server the benchmarks use, and a one-off client for setup and cleanup. */
import { Client } from "pg";

/** MK_BENCH_DATABASE_URL, else MK_TEST_DATABASE_URL, else the local server's `test` database. */
export function databaseUrl(): string {
  return (
    process.env.MK_BENCH_DATABASE_URL ??
    process.env.MK_TEST_DATABASE_URL ??
    "postgres://postgres@127.0.0.1:5432/test"
  );
}

/** host:port/database of a connection string, without credentials (for tables and messages). */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || "5432"}${u.pathname}`;
  } catch {
    return "the configured server";
  }
}

/** `url` with one more query parameter (e.g. application_name, to find the sessions of a server). */
export function withParam(url: string, name: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.toString();
}

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Why PostgreSQL cannot be used (a message), or undefined when it answers. */
export async function postgresUnavailable(url: string): Promise<string | undefined> {
  try {
    await withClient(url, (client) => client.query("SELECT 1"));
    return undefined;
  } catch (error) {
    return (error as Error).message || String(error);
  }
}

/** Drops the benchmark's schemas; a failure is reported on stderr (never silently left behind). */
export async function dropSchemas(url: string, schemas: readonly string[]): Promise<void> {
  try {
    await withClient(url, async (client) => {
      for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    });
  } catch (error) {
    process.stderr.write(
      `Could not drop the benchmark schemas ${schemas.join(", ")}: ${(error as Error).message}\n`,
    );
  }
}
