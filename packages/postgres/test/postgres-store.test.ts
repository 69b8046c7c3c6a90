import { isMandrillKitError, type SuppressionEffect } from "@mandrill-kit/core";
import { MIGRATIONS, openPostgresStore, type PostgresStore } from "@mandrill-kit/postgres";
import { Pool } from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { available, databaseUrl, dropSchema, freshSchema, sql } from "./database.js";

const T0 = Date.UTC(2026, 0, 1);

async function caught(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    expect(isMandrillKitError(error), `expected a MandrillKitError, got ${String(error)}`).toBe(true);
    return error as { code: string; message: string };
  }
  throw new Error("expected a rejection");
}

describe("openPostgresStore options", () => {
  it("needs exactly one of connectionString and pool", async () => {
    expect((await caught(openPostgresStore({}))).code).toBe("ERR_MK_CONFIG_INVALID");
    const both = await caught(
      openPostgresStore({ connectionString: "postgres://x@127.0.0.1/db", pool: new Pool() }),
    );
    expect(both.message).toMatch(/exactly one of connectionString/);
  });

  it("refuses a schema name that is not a plain identifier, quoting it", async () => {
    const error = await caught(
      openPostgresStore({ connectionString: "postgres://x@127.0.0.1/db", schema: 'a"; DROP' }),
    );
    expect(error.code).toBe("ERR_MK_CONFIG_INVALID");
    expect(error.message).toContain('a\\"; DROP');
  });

  it("refuses a negative or fractional idleTimeoutMs", async () => {
    for (const idleTimeoutMs of [-1, 1.5]) {
      const error = await caught(
        openPostgresStore({ connectionString: "postgres://x@127.0.0.1/db", idleTimeoutMs }),
      );
      expect(error.code).toBe("ERR_MK_CONFIG_INVALID");
      expect(error.message).toContain("idleTimeoutMs");
    }
  });

  it("refuses unknown options with a suggestion", async () => {
    const error = await caught(
      openPostgresStore({ connectionString: "postgres://x@127.0.0.1/db", shema: "x" } as never),
    );
    expect(error.code).toBe("ERR_MK_CONFIG_UNKNOWN_OPTION");
    expect(error.message).toContain("schema");
  });

  it("reports an unreachable server as ERR_MK_STORE_FAILED without the password", async () => {
    const error = await caught(
      openPostgresStore({
        connectionString: "postgres://kit:s3cret-pw@127.0.0.1:1/app",
        connectTimeoutMs: 2000,
      }),
    );
    expect(error.code).toBe("ERR_MK_STORE_FAILED");
    expect(error.message).toContain("could not reach the server at 127.0.0.1:1/app");
    expect(error.message).not.toContain("s3cret");
  });
});

describe.skipIf(!available)("PostgreSQL across instances", () => {
  const schemas: string[] = [];
  const stores: PostgresStore[] = [];
  const pools: Pool[] = [];

  /** A store on its own pool: to PostgreSQL, a separate instance of the app. */
  async function instance(schema: string): Promise<PostgresStore> {
    const store = await openPostgresStore({ connectionString: databaseUrl, schema, maxConnections: 5 });
    stores.push(store);
    return store;
  }
  function schemaForTest(): string {
    const schema = freshSchema("multi");
    schemas.push(schema);
    return schema;
  }

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await Promise.all(pools.splice(0).map((p) => p.end()));
  });
  afterAll(async () => {
    for (const schema of schemas) await dropSchema(schema);
  });

  it("migrates concurrently from several pools and records each migration once", async () => {
    const schema = schemaForTest();
    const opened = await Promise.all(Array.from({ length: 4 }, () => instance(schema)));
    const latest = MIGRATIONS.length;
    expect(await Promise.all(opened.map((s) => s.schemaVersion()))).toEqual([latest, latest, latest, latest]);
    const { rows } = await sql(`SELECT version FROM "${schema}".mk_migrations ORDER BY version`);
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
  });

  it("never hands one event to two instances claiming concurrently", async () => {
    const schema = schemaForTest();
    const [a, b] = [await instance(schema), await instance(schema)] as const;
    await a.inbox.ingest({
      account: "acme",
      receivedAt: T0,
      events: Array.from({ length: 200 }, (_, i) => ({
        key: `e${i}`,
        type: "send",
        email: "a@example.com",
        messageId: null,
        eventAt: T0,
        raw: "{}",
      })),
    });
    const claimed: string[] = [];
    async function worker(store: PostgresStore): Promise<void> {
      for (;;) {
        const batch = await store.inbox.claim({ limit: 7, leaseMs: 60_000, now: T0 });
        if (batch.length === 0) return;
        claimed.push(...batch.map((r) => r.key));
      }
    }
    await Promise.all([worker(a), worker(b), worker(a), worker(b)]);
    expect(claimed).toHaveLength(200);
    expect(new Set(claimed).size).toBe(200);
  });

  it("stores one row and applies one effect when two instances ingest the same batch", async () => {
    const schema = schemaForTest();
    const [a, b] = [await instance(schema), await instance(schema)] as const;
    const effect = (email: string): SuppressionEffect => ({
      op: "suppress",
      email,
      reason: "hard-bounce",
      source: "webhook",
      detail: null,
      expiresAt: null,
    });
    const batch = {
      account: "acme",
      receivedAt: T0,
      events: Array.from({ length: 100 }, (_, i) => ({
        key: `h${i}`,
        type: "hard_bounce",
        email: `u${i}@example.com`,
        messageId: null,
        eventAt: T0,
        raw: "{}",
        effects: [effect(`u${i}@example.com`)],
      })),
    };
    const results = await Promise.all([a.inbox.ingest(batch), b.inbox.ingest(batch), a.inbox.ingest(batch)]);
    expect(results.reduce((n, r) => n + r.inserted.length, 0)).toBe(100);
    expect(results.reduce((n, r) => n + r.effects.length, 0)).toBe(100);
    const { rows } = await sql(
      `SELECT count(*)::int AS n, count(DISTINCT key)::int AS k FROM "${schema}".inbox`,
    );
    expect(rows[0]).toEqual({ n: 100, k: 100 });
    expect(await b.suppressions.count("acme", { now: T0 })).toBe(100);
  });

  it("serialises concurrent first writes of the same suppression and credentials", async () => {
    const schema = schemaForTest();
    const [a, b] = [await instance(schema), await instance(schema)] as const;
    const adds = await Promise.all(
      [a, b, a, b].map((s, i) =>
        s.suppressions.add({
          account: "acme",
          email: "x@example.com",
          reason: "unsub",
          source: "manual",
          at: T0 + i,
        }),
      ),
    );
    expect(adds.filter((r) => r.status === "added")).toHaveLength(1);
    const puts = await Promise.allSettled(
      [a, b].map((s) => s.credentials.put("acme", { settings: {}, secrets: {} }, { expectedVersion: 0 })),
    );
    expect(puts.filter((p) => p.status === "fulfilled")).toHaveLength(1);
    const rejected = puts.find((p) => p.status === "rejected") as PromiseRejectedResult;
    expect((rejected.reason as { code: string }).code).toBe("ERR_MK_STORE_CONFLICT");
  });

  it("keeps its own pool's unused connections open for idleTimeoutMs (5 minutes by default, not pg's 10 s)", async () => {
    const schema = schemaForTest();
    const open = async (idleTimeoutMs?: number) => {
      const store = await openPostgresStore({
        connectionString: databaseUrl,
        schema,
        ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
      });
      stores.push(store);
      return store;
    };
    const byDefault = await open();
    const poolOptions = (store: PostgresStore) =>
      (store.pool as unknown as { options: { idleTimeoutMillis?: number } }).options;
    expect(poolOptions(byDefault).idleTimeoutMillis).toBe(300_000);
    const short = await open(200);
    const kept = await open(0);
    for (const store of [short, kept]) {
      await store.inbox.stats("acme");
      expect(store.pool.idleCount).toBeGreaterThan(0);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(short.pool.totalCount).toBe(0);
    expect(kept.pool.idleCount).toBeGreaterThan(0);
  });

  it("uses a pool it is given and leaves it open on close", async () => {
    const schema = schemaForTest();
    const pool = new Pool({ connectionString: databaseUrl, max: 2 });
    pools.push(pool);
    const store = await openPostgresStore({ pool, schema });
    await store.close();
    expect((await pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    expect((await caught(store.inbox.stats("acme"))).code).toBe("ERR_MK_STORE_CLOSED");
  });

  it("refuses to open an unmigrated schema with migrate: false, and says how to fix it", async () => {
    const schema = schemaForTest();
    const error = await caught(openPostgresStore({ connectionString: databaseUrl, schema, migrate: false }));
    expect(error.code).toBe("ERR_MK_STORE_MIGRATION_FAILED");
    expect(error.message).toContain("store.migrate()");
  });
});
