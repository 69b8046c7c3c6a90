import {
  type AppliedEffect,
  applySuppressionEffects,
  type ClaimOptions,
  type CredentialPutOptions,
  type CredentialRow,
  type CredentialWrite,
  checkCredentialWrite,
  checkOptions,
  componentLogger,
  decodeCursor,
  escapeLike,
  type FailOptions,
  type InboxEventInput,
  type InboxRow,
  type IngestBatch,
  type IngestResult,
  inboxStatsFrom,
  isMandrillKitError,
  type Logger,
  liftSuppression,
  MandrillKitConfigError,
  MandrillKitNotFoundError,
  MandrillKitStoreError,
  mergeSuppression,
  type NormalizedSuppressionInput,
  normalizeClaimOptions,
  normalizeEmail,
  normalizeInboxEvent,
  normalizeSendRecord,
  normalizeSuppressionInput,
  type PageOptions,
  page,
  pageLimit,
  type QuarantinedBatch,
  requireAccountId,
  type SendRecordInput,
  type SendRow,
  type Store,
  type Suppression,
  type SuppressionAddResult,
  type SuppressionInput,
  type SuppressionLiftOptions,
  type SuppressionQuery,
  type SuppressionRow,
  silentLogger,
  toCredential,
  toInbox,
  toSend,
  toSuppression,
} from "@mandrill-kit/core";
import { Pool, type PoolClient, types as pgTypes, type QueryResultRow } from "pg";
import { MIGRATIONS } from "./migrations.js";

/** Options of {@link openPostgresStore}: give exactly one of `connectionString` and `pool`. */
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
  /** Receives migration and connection entries. @default silentLogger */
  logger?: Logger;
}

const OPTION_NAMES = [
  "connectionString",
  "pool",
  "schema",
  "migrate",
  "maxConnections",
  "connectTimeoutMs",
  "logger",
] as const;

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
const MAX_ATTEMPTS = 5;

/** Thrown inside a transaction when a concurrent writer won a race; the transaction is run again. */
class RaceLost extends Error {}

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
function describeTarget(connectionString: string | undefined): string {
  if (connectionString === undefined) return "the given pool";
  try {
    const url = new URL(connectionString);
    return `${url.hostname || "localhost"}:${url.port || "5432"}${url.pathname || ""}`;
  } catch {
    return "the configured server";
  }
}

interface ResolvedOptions {
  connectionString: string | undefined;
  pool: Pool | undefined;
  schema: string;
  migrate: boolean;
  maxConnections: number;
  connectTimeoutMs: number;
  logger: Logger;
}

function positiveInteger(value: unknown, name: string, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      name,
      `openPostgresStore() ${name} must be a positive integer; received ${JSON.stringify(v)}.`,
    );
  }
  return v;
}

function resolveOptions(options: PostgresStoreOptions): ResolvedOptions {
  const o = checkOptions("openPostgresStore", options, OPTION_NAMES);
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
  const schema = o.schema ?? "mandrill_kit";
  if (typeof schema !== "string" || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "schema",
      `openPostgresStore() schema must be 1–63 letters, digits or "_", not starting with a digit; received ${JSON.stringify(schema)}.`,
    );
  }
  if (o.migrate !== undefined && typeof o.migrate !== "boolean") {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "migrate",
      `openPostgresStore() migrate must be true or false; received ${JSON.stringify(o.migrate)}.`,
    );
  }
  return {
    connectionString: o.connectionString as string | undefined,
    pool: o.pool as Pool | undefined,
    schema,
    migrate: o.migrate ?? true,
    maxConnections: positiveInteger(o.maxConnections, "maxConnections", 10),
    connectTimeoutMs: positiveInteger(o.connectTimeoutMs, "connectTimeoutMs", 5000),
    logger: (o.logger as Logger | undefined) ?? silentLogger,
  };
}

/** A suppression read for update, and whether it exists in the database (for the write that follows). */
interface Loaded {
  value: Suppression | undefined;
  existed: boolean;
  dirty: boolean;
}

const ikey = (account: string, email: string): string => `${account}\u0000${email}`;

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
  const target = describeTarget(config.connectionString);
  const ownPool = config.pool === undefined;
  const pool =
    config.pool ??
    new Pool({
      connectionString: config.connectionString,
      max: config.maxConnections,
      connectionTimeoutMillis: config.connectTimeoutMs,
    });
  // An idle client losing its connection emits "error" on the pool; unhandled, it ends the process.
  const onPoolError = (error: Error): void => {
    log.warn(
      { error: error.message },
      `PostgreSQL connection at ${target} lost; the pool reconnects on next use`,
    );
  };
  if (ownPool) pool.on("error", onPoolError);
  const S = `"${config.schema}"`;
  let closed = false;

  function storeError(what: string, error: unknown): Error {
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
      return new MandrillKitStoreError(
        "ERR_MK_STORE_FAILED",
        `PostgreSQL ${what} failed: could not reach the server at ${target} (${code ?? e.message}). Start PostgreSQL or fix the connection string / pool settings.`,
        { cause: error },
      );
    }
    if (code === "3F000" || code === "42P01") {
      return new MandrillKitStoreError(
        "ERR_MK_STORE_MIGRATION_FAILED",
        `PostgreSQL ${what} failed: the schema ${JSON.stringify(config.schema)} at ${target} is missing its tables. Open the store with migrate: true or call store.migrate().`,
        { cause: error },
      );
    }
    const message =
      e.message || (e.errors !== undefined ? `${e.errors.length} connection errors` : String(error));
    return new MandrillKitStoreError(
      "ERR_MK_STORE_FAILED",
      `PostgreSQL ${what} failed on ${target}: ${message}${code === undefined ? "" : ` (SQLSTATE ${code})`}`,
      { cause: error },
    );
  }

  function ensureOpen(what: string): void {
    if (closed) {
      throw new MandrillKitStoreError(
        "ERR_MK_STORE_CLOSED",
        `The PostgreSQL store (schema ${JSON.stringify(config.schema)} at ${target}) is closed (${what}).`,
      );
    }
  }

  /** Runs `fn` unless closed, mapping driver errors to store errors. */
  async function run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    ensureOpen(what);
    try {
      return await fn();
    } catch (error) {
      throw storeError(what, error);
    }
  }

  type Queryable = Pick<Pool | PoolClient, "query">;
  async function q<R extends QueryResultRow>(
    db: Queryable,
    text: string,
    values: unknown[] = [],
  ): Promise<{ rows: R[]; rowCount: number }> {
    const result = await db.query<R>({ text, values, types: queryTypes });
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  }

  /** One transaction, run again (with jitter) when it lost a race to another instance. */
  async function tx<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query("BEGIN");
        const result = await fn(client);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        try {
          await client.query("ROLLBACK");
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
      } finally {
        client.release(broken);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }

  const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

  async function readVersion(db: Queryable): Promise<number> {
    const exists = await q<{ t: string | null }>(db, "SELECT to_regclass($1) AS t", [`${S}.mk_migrations`]);
    if (exists.rows[0]?.t == null) return 0;
    const r = await q<{ v: number }>(
      db,
      `SELECT coalesce(max(version), 0)::int AS v FROM ${S}.mk_migrations`,
    );
    return r.rows[0]?.v ?? 0;
  }

  function tooNew(current: number): MandrillKitStoreError {
    return new MandrillKitStoreError(
      "ERR_MK_STORE_SCHEMA_TOO_NEW",
      `The schema ${JSON.stringify(config.schema)} at ${target} is at version ${current}, newer than this version of @mandrill-kit/postgres knows (${latest}). Upgrade the package.`,
    );
  }

  async function migrate(): Promise<void> {
    let applied: { version: number; name: string }[] = [];
    try {
      applied = await tx(async (client) => {
        applied = [];
        // Every instance may migrate on start: the lock (scoped to this transaction, so it cannot leak
        // on a dropped connection) makes them take turns; the later ones find nothing left to do.
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [
          `mandrill-kit:migrate:${config.schema}`,
        ]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${S}`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${S}.mk_migrations (
          version    INTEGER NOT NULL PRIMARY KEY,
          name       TEXT    NOT NULL,
          applied_at BIGINT  NOT NULL
        )`);
        const current = await readVersion(client);
        if (current > latest) throw tooNew(current);
        const done: { version: number; name: string }[] = [];
        for (const migration of MIGRATIONS) {
          if (migration.version <= current) continue;
          try {
            await client.query(migration.sql.replaceAll("SCHEMA.", `${S}.`));
          } catch (error) {
            throw new MandrillKitStoreError(
              "ERR_MK_STORE_MIGRATION_FAILED",
              `Migration ${migration.version} (${migration.name}) failed on schema ${JSON.stringify(config.schema)} at ${target}: ${(error as Error).message}`,
              { cause: error },
            );
          }
          await client.query(
            `INSERT INTO ${S}.mk_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
            [migration.version, migration.name, Date.now()],
          );
          done.push(migration);
        }
        return done;
      });
    } catch (error) {
      throw storeError("migrate", error);
    }
    for (const m of applied) log.info({ version: m.version }, `applied migration ${m.version}: ${m.name}`);
  }

  async function checkSchema(): Promise<void> {
    const current = await readVersion(pool);
    if (current > latest) throw tooNew(current);
    if (current < latest) {
      throw new MandrillKitStoreError(
        "ERR_MK_STORE_MIGRATION_FAILED",
        `The schema ${JSON.stringify(config.schema)} at ${target} is at version ${current}; this version needs ${latest}. Open it with migrate: true or call store.migrate().`,
      );
    }
  }

  try {
    if (config.migrate) await migrate();
    else await checkSchema();
  } catch (error) {
    if (ownPool) await pool.end().catch(() => undefined);
    throw storeError("open", error);
  }

  // ---------------------------------------------------------------- suppressions

  const SUP_COLS =
    "account, email, reason, source, detail, created_at, updated_at, expires_at, lifted_at, lifted_by, lift_reason";

  /** Reads (and row-locks, in a consistent order) the suppressions of the given account/address pairs. */
  async function loadForUpdate(
    client: PoolClient,
    pairs: { account: string; email: string }[],
  ): Promise<Map<string, Loaded>> {
    const loaded = new Map<string, Loaded>();
    const accounts: string[] = [];
    const emails: string[] = [];
    for (const p of pairs) {
      const k = ikey(p.account, p.email);
      if (loaded.has(k)) continue;
      loaded.set(k, { value: undefined, existed: false, dirty: false });
      accounts.push(p.account);
      emails.push(p.email);
    }
    if (accounts.length === 0) return loaded;
    const { rows } = await q<SuppressionRow>(
      client,
      `SELECT s.* FROM ${S}.suppressions s
        JOIN unnest($1::text[], $2::text[]) AS w(account, email) ON s.account = w.account AND s.email = w.email
        ORDER BY s.account, s.email FOR UPDATE OF s`,
      [accounts, emails],
    );
    for (const row of rows) {
      loaded.set(ikey(row.account, row.email), { value: toSuppression(row), existed: true, dirty: false });
    }
    return loaded;
  }

  /**
   * Writes the changed entries: rows read under lock are updated; new rows are inserted, and when a
   * concurrent transaction inserted the same address first, this one is run again on fresh reads.
   */
  async function writeSuppressions(client: PoolClient, loaded: Map<string, Loaded>): Promise<void> {
    const existing: Suppression[] = [];
    const fresh: Suppression[] = [];
    for (const l of loaded.values()) {
      if (!l.dirty || l.value === undefined) continue;
      (l.existed ? existing : fresh).push(l.value);
    }
    const columns = (list: Suppression[]): unknown[] => [
      list.map((s) => s.account),
      list.map((s) => s.email),
      list.map((s) => s.reason),
      list.map((s) => s.source),
      list.map((s) => s.detail),
      list.map((s) => s.createdAt),
      list.map((s) => s.updatedAt),
      list.map((s) => s.expiresAt),
      list.map((s) => s.liftedAt),
      list.map((s) => s.liftedBy),
      list.map((s) => s.liftReason),
    ];
    const source =
      "unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[])";
    if (existing.length > 0) {
      await q(
        client,
        `UPDATE ${S}.suppressions s SET reason = w.reason, source = w.source, detail = w.detail, created_at = w.created_at,
           updated_at = w.updated_at, expires_at = w.expires_at, lifted_at = w.lifted_at, lifted_by = w.lifted_by, lift_reason = w.lift_reason
         FROM ${source} AS w(${SUP_COLS}) WHERE s.account = w.account AND s.email = w.email`,
        columns(existing),
      );
    }
    if (fresh.length > 0) {
      const { rowCount } = await q(
        client,
        `INSERT INTO ${S}.suppressions (${SUP_COLS}) SELECT * FROM ${source} ON CONFLICT (account, email) DO NOTHING`,
        columns(fresh),
      );
      if (rowCount < fresh.length) throw new RaceLost("A suppression was written concurrently");
    }
  }

  function addInMemory(loaded: Map<string, Loaded>, n: NormalizedSuppressionInput): SuppressionAddResult {
    const l = loaded.get(ikey(n.account, n.email)) as Loaded;
    const { status, next } = mergeSuppression(l.value, n);
    if (status !== "unchanged") {
      l.value = next;
      l.dirty = true;
    }
    return { status, suppression: { ...next } };
  }

  async function addMany(inputs: NormalizedSuppressionInput[]): Promise<SuppressionAddResult[]> {
    if (inputs.length === 0) return [];
    return tx(async (client) => {
      const loaded = await loadForUpdate(client, inputs);
      const results = inputs.map((n) => addInMemory(loaded, n));
      await writeSuppressions(client, loaded);
      return results;
    });
  }

  function suppressionWhere(account: string, query: SuppressionQuery): { where: string; params: unknown[] } {
    const now = query.now ?? Date.now();
    const params: unknown[] = [account];
    const clauses = ["account = $1"];
    const p = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const status = query.status ?? "active";
    if (status === "active") {
      clauses.push(`lifted_at IS NULL AND (expires_at IS NULL OR expires_at > ${p(now)})`);
    } else if (status === "expired") {
      clauses.push(`lifted_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ${p(now)}`);
    } else if (status === "lifted") {
      clauses.push("lifted_at IS NOT NULL");
    }
    if (query.reason !== undefined) clauses.push(`reason = ${p(query.reason)}`);
    if (query.source !== undefined) clauses.push(`source = ${p(query.source)}`);
    if (query.search !== undefined && query.search !== "") {
      clauses.push(`email LIKE ${p(`%${escapeLike(query.search.toLowerCase())}%`)} ESCAPE '\\'`);
    }
    return { where: clauses.join(" AND "), params };
  }

  // ---------------------------------------------------------------- inbox

  const INBOX_COLS =
    "account, key, type, email, message_id, event_at, raw, received_at, state, attempts, next_attempt_at, completed_at";

  async function ingest(
    account: string,
    receivedAt: number,
    events: readonly InboxEventInput[],
  ): Promise<IngestResult> {
    // The first occurrence of a key in the batch is the one stored; later ones are duplicates.
    const unique: InboxEventInput[] = [];
    const seen = new Set<string>();
    for (const e of events) {
      if (seen.has(e.key)) continue;
      seen.add(e.key);
      unique.push(e);
    }
    return tx(async (client) => {
      const result: IngestResult = { inserted: [], duplicates: [], effects: [] };
      const { rows } = await q<{ key: string }>(
        client,
        `INSERT INTO ${S}.inbox (${INBOX_COLS})
         SELECT $1, w.key, w.type, w.email, w.message_id, w.event_at, w.raw, $2, w.state, 0,
                CASE WHEN w.state = 'done' THEN NULL ELSE $2::bigint END, CASE WHEN w.state = 'done' THEN $2::bigint END
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[])
              WITH ORDINALITY AS w(key, type, email, message_id, event_at, raw, state, ord)
         ORDER BY w.ord
         ON CONFLICT (account, key) DO NOTHING
         RETURNING key`,
        [
          account,
          receivedAt,
          unique.map((e) => e.key),
          unique.map((e) => e.type),
          unique.map((e) => (e.email === null ? null : (normalizeEmail(e.email) ?? null))),
          unique.map((e) => e.messageId),
          unique.map((e) => e.eventAt),
          unique.map((e) => e.raw),
          unique.map((e) => (e.state === "done" ? "done" : "pending")),
        ],
      );
      const insertedKeys = new Set(rows.map((r) => r.key));
      const newEvents: InboxEventInput[] = [];
      const position = new Map<string, number>();
      for (const e of events) {
        if (insertedKeys.has(e.key) && !position.has(e.key)) {
          position.set(e.key, newEvents.length);
          newEvents.push(e);
          result.inserted.push(e.key);
        } else {
          result.duplicates.push(e.key);
        }
      }
      const withEffects = newEvents.filter((e) => e.effects !== undefined && e.effects.length > 0);
      if (withEffects.length === 0) return result;

      const loaded = await loadForUpdate(
        client,
        withEffects.flatMap((e) => (e.effects ?? []).map((effect) => ({ account, email: effect.email }))),
      );
      // Soft bounces stored within each address's widest window; counted below as the SQLite adapter
      // counts them, i.e. without events that come later in this batch.
      const windows = new Map<string, { lo: number; hi: number }>();
      for (const e of withEffects) {
        const at = e.eventAt ?? receivedAt;
        for (const effect of e.effects ?? []) {
          if (effect.op !== "soft-bounce") continue;
          const w = windows.get(effect.email);
          const lo = at - effect.windowMs;
          windows.set(
            effect.email,
            w === undefined ? { lo, hi: at } : { lo: Math.min(w.lo, lo), hi: Math.max(w.hi, at) },
          );
        }
      }
      const bounces = new Map<string, { key: string; eventAt: number }[]>();
      if (windows.size > 0) {
        const list = [...windows.entries()];
        const found = await q<{ key: string; email: string; event_at: number }>(
          client,
          `SELECT i.key, i.email, i.event_at FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS w(email, lo, hi)
           JOIN ${S}.inbox i ON i.account = $1 AND i.type = 'soft_bounce' AND i.email = w.email
             AND i.event_at > w.lo AND i.event_at <= w.hi`,
          [account, list.map(([email]) => email), list.map(([, w]) => w.lo), list.map(([, w]) => w.hi)],
        );
        for (const r of found.rows) {
          const l = bounces.get(r.email) ?? [];
          l.push({ key: r.key, eventAt: r.event_at });
          bounces.set(r.email, l);
        }
      }
      const applied: AppliedEffect[] = [];
      for (const e of withEffects) {
        const index = position.get(e.key) as number;
        applySuppressionEffects(
          {
            get: (email) => loaded.get(ikey(account, email))?.value,
            put: (next) => {
              const l = loaded.get(ikey(account, next.email)) as Loaded;
              l.value = next;
              l.dirty = true;
            },
            countSoftBounces: (email, after, until) =>
              (bounces.get(email) ?? []).filter(
                (b) => b.eventAt > after && b.eventAt <= until && (position.get(b.key) ?? -1) <= index,
              ).length,
          },
          { account, key: e.key, eventAt: e.eventAt, effects: e.effects ?? [] },
          receivedAt,
          applied,
        );
      }
      await writeSuppressions(client, loaded);
      result.effects = applied;
      return result;
    });
  }

  async function requireInboxRow(account: string, key: string): Promise<void> {
    const { rowCount } = await q(pool, `SELECT 1 FROM ${S}.inbox WHERE account = $1 AND key = $2`, [
      account,
      key,
    ]);
    if (rowCount === 0) {
      throw new MandrillKitNotFoundError(
        `No inbox event ${JSON.stringify(key)} for account ${JSON.stringify(account)}.`,
      );
    }
  }

  const store: PostgresStore = {
    kind: "postgres",
    schema: config.schema,
    pool,
    schemaVersion: () => run("schemaVersion", () => readVersion(pool)),
    credentials: {
      get: (account) =>
        run("credentials.get", async () => {
          const { rows } = await q<CredentialRow>(pool, `SELECT * FROM ${S}.credentials WHERE account = $1`, [
            requireAccountId(account),
          ]);
          return rows[0] === undefined ? undefined : toCredential(rows[0]);
        }),
      put: (account, write: CredentialWrite, options: CredentialPutOptions = {}) =>
        run("credentials.put", async () => {
          requireAccountId(account);
          checkCredentialWrite(write);
          const at = options.at ?? Date.now();
          const settings = JSON.stringify(write.settings);
          const secrets = JSON.stringify(write.secrets);
          return tx(async (client) => {
            const { rows } = await q<{ version: number }>(
              client,
              `SELECT version FROM ${S}.credentials WHERE account = $1 FOR UPDATE`,
              [account],
            );
            const current = rows[0]?.version ?? 0;
            if (options.expectedVersion !== undefined && options.expectedVersion !== current) {
              throw new MandrillKitStoreError(
                "ERR_MK_STORE_CONFLICT",
                `Credentials of account ${JSON.stringify(account)} changed meanwhile (expected version ${options.expectedVersion}, found ${current}).`,
              );
            }
            // A concurrent first write makes this INSERT fail with 23505: tx() runs again and the
            // re-read finds the row (and the version check above applies).
            const written =
              rows[0] === undefined
                ? await q<CredentialRow>(
                    client,
                    `INSERT INTO ${S}.credentials (account, version, settings, secrets, created_at, updated_at)
                     VALUES ($1, 1, $2, $3, $4, $4) RETURNING *`,
                    [account, settings, secrets, at],
                  )
                : await q<CredentialRow>(
                    client,
                    `UPDATE ${S}.credentials SET version = version + 1, settings = $2, secrets = $3, updated_at = $4
                     WHERE account = $1 RETURNING *`,
                    [account, settings, secrets, at],
                  );
            return toCredential(written.rows[0] as CredentialRow);
          });
        }),
      delete: (account) =>
        run("credentials.delete", async () => {
          const { rowCount } = await q(pool, `DELETE FROM ${S}.credentials WHERE account = $1`, [
            requireAccountId(account),
          ]);
          return rowCount > 0;
        }),
      list: (options: PageOptions = {}) =>
        run("credentials.list", async () => {
          const limit = pageLimit(options);
          const after = options.after ? String(decodeCursor(options.after)[0]) : "";
          const { rows } = await q<CredentialRow>(
            pool,
            `SELECT * FROM ${S}.credentials WHERE account > $1 ORDER BY account LIMIT $2`,
            [after, limit + 1],
          );
          return page(rows.map(toCredential), limit, (r) => [r.account]);
        }),
    },
    suppressions: {
      add: (input: SuppressionInput) =>
        run("suppressions.add", async () => {
          const [result] = await addMany([normalizeSuppressionInput(input)]);
          return result as SuppressionAddResult;
        }),
      addMany: (inputs) =>
        run("suppressions.addMany", () => addMany(inputs.map((i) => normalizeSuppressionInput(i)))),
      remove: (account, email, options: SuppressionLiftOptions) =>
        run("suppressions.remove", async () => {
          requireAccountId(account);
          const e = normalizeEmail(email);
          if (e === undefined) return false;
          return tx(async (client) => {
            const loaded = await loadForUpdate(client, [{ account, email: e }]);
            const l = loaded.get(ikey(account, e)) as Loaded;
            const next = liftSuppression(l.value, { ...options, at: options.at ?? Date.now() });
            if (next === undefined) return false;
            l.value = next;
            l.dirty = true;
            await writeSuppressions(client, loaded);
            return true;
          });
        }),
      check: (account, emails, options = {}) =>
        run("suppressions.check", async () => {
          requireAccountId(account);
          const normalized = new Set<string>();
          for (const raw of emails) {
            const e = normalizeEmail(raw);
            if (e !== undefined) normalized.add(e);
          }
          if (normalized.size === 0) return [];
          // One statement whatever the number of addresses: an index probe on (account, email) each.
          const { rows } = await q<SuppressionRow>(
            pool,
            `SELECT ${SUP_COLS} FROM ${S}.suppressions
             WHERE account = $1 AND email = ANY($2::text[]) AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $3)`,
            [account, [...normalized], options.now ?? Date.now()],
          );
          return rows.map(toSuppression);
        }),
      get: (account, email) =>
        run("suppressions.get", async () => {
          requireAccountId(account);
          const e = normalizeEmail(email);
          if (e === undefined) return undefined;
          const { rows } = await q<SuppressionRow>(
            pool,
            `SELECT ${SUP_COLS} FROM ${S}.suppressions WHERE account = $1 AND email = $2`,
            [account, e],
          );
          return rows[0] === undefined ? undefined : toSuppression(rows[0]);
        }),
      list: (account, query = {}) =>
        run("suppressions.list", async () => {
          requireAccountId(account);
          const limit = pageLimit(query);
          const { where, params } = suppressionWhere(account, query);
          const after = query.after ? String(decodeCursor(query.after)[0]) : null;
          if (after !== null) params.push(after);
          params.push(limit + 1);
          const { rows } = await q<SuppressionRow>(
            pool,
            `SELECT ${SUP_COLS} FROM ${S}.suppressions WHERE ${where}${after === null ? "" : ` AND email > $${params.length - 1}`}
             ORDER BY email LIMIT $${params.length}`,
            params,
          );
          return page(rows.map(toSuppression), limit, (s) => [s.email]);
        }),
      count: (account, query = {}) =>
        run("suppressions.count", async () => {
          requireAccountId(account);
          const { where, params } = suppressionWhere(account, query);
          const { rows } = await q<{ n: number }>(
            pool,
            `SELECT count(*) AS n FROM ${S}.suppressions WHERE ${where}`,
            params,
          );
          return rows[0]?.n ?? 0;
        }),
    },
    inbox: {
      ingest: (batch: IngestBatch) =>
        run("inbox.ingest", async () => {
          const account = requireAccountId(batch.account);
          const receivedAt = batch.receivedAt ?? Date.now();
          // Validate every effect before the transaction: a bad one aborts the whole batch.
          const events = batch.events.map(normalizeInboxEvent);
          if (events.length === 0) return { inserted: [], duplicates: [], effects: [] };
          return ingest(account, receivedAt, events);
        }),
      claim: (options: ClaimOptions = {}) =>
        run("inbox.claim", async () => {
          const { now, limit, leaseMs, account } = normalizeClaimOptions(options);
          // SKIP LOCKED: concurrent claims (other instances) pass over rows another claim is taking
          // instead of waiting for it, and never take the same row while its lease holds.
          const { rows } = await q<InboxRow>(
            pool,
            `WITH due AS (
               SELECT seq FROM ${S}.inbox
               WHERE state = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
                 ${account === undefined ? "" : "AND account = $4"}
               ORDER BY next_attempt_at, seq LIMIT $3
               FOR UPDATE SKIP LOCKED)
             UPDATE ${S}.inbox i SET lease_until = $1::bigint + $2::bigint, attempts = i.attempts + 1
             FROM due WHERE i.seq = due.seq
             RETURNING i.*`,
            account === undefined ? [now, leaseMs, limit] : [now, leaseMs, limit, account],
          );
          return rows
            .sort((a, b) => (a.next_attempt_at ?? 0) - (b.next_attempt_at ?? 0) || a.seq - b.seq)
            .map(toInbox);
        }),
      complete: (account, key, options = {}) =>
        run("inbox.complete", async () => {
          const { rowCount } = await q(
            pool,
            `UPDATE ${S}.inbox SET state = 'done', lease_until = NULL, next_attempt_at = NULL, completed_at = $1
             WHERE account = $2 AND key = $3`,
            [options.now ?? Date.now(), account, key],
          );
          if (rowCount === 0) await requireInboxRow(account, key);
        }),
      completeMany: (events, options = {}) =>
        run("inbox.completeMany", async () => {
          if (events.length === 0) return 0;
          const { rowCount } = await q(
            pool,
            `UPDATE ${S}.inbox i SET state = 'done', lease_until = NULL, next_attempt_at = NULL, completed_at = $1
             FROM (SELECT DISTINCT * FROM unnest($2::text[], $3::text[])) AS w(account, key)
             WHERE i.account = w.account AND i.key = w.key`,
            [options.now ?? Date.now(), events.map((e) => e.account), events.map((e) => e.key)],
          );
          return rowCount;
        }),
      fail: (account, key, options: FailOptions) =>
        run("inbox.fail", async () => {
          const error = String(options.error).slice(0, 2000);
          const { rowCount } =
            options.retryAt === null
              ? await q(
                  pool,
                  `UPDATE ${S}.inbox SET state = 'dead', last_error = $1, next_attempt_at = NULL, lease_until = NULL, completed_at = $2
                   WHERE account = $3 AND key = $4`,
                  [error, options.now ?? Date.now(), account, key],
                )
              : await q(
                  pool,
                  `UPDATE ${S}.inbox SET state = 'pending', last_error = $1, next_attempt_at = $2, lease_until = NULL
                   WHERE account = $3 AND key = $4`,
                  [error, options.retryAt, account, key],
                );
          if (rowCount === 0) await requireInboxRow(account, key);
        }),
      replay: (account, key, options = {}) =>
        run("inbox.replay", async () => {
          const { rowCount } = await q(
            pool,
            `UPDATE ${S}.inbox SET state = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL, completed_at = NULL
             WHERE account = $2 AND key = $3`,
            [options.now ?? Date.now(), account, key],
          );
          return rowCount > 0;
        }),
      get: (account, key) =>
        run("inbox.get", async () => {
          const { rows } = await q<InboxRow>(
            pool,
            `SELECT * FROM ${S}.inbox WHERE account = $1 AND key = $2`,
            [account, key],
          );
          return rows[0] === undefined ? undefined : toInbox(rows[0]);
        }),
      list: (account, query = {}) =>
        run("inbox.list", async () => {
          const limit = pageLimit(query);
          const before = query.after ? Number(decodeCursor(query.after)[0]) : Number.MAX_SAFE_INTEGER;
          const params: unknown[] = [account, before];
          const clauses = ["account = $1", "seq < $2"];
          if (query.state !== undefined) {
            params.push(query.state);
            clauses.push(`state = $${params.length}`);
          }
          if (query.type !== undefined) {
            params.push(query.type);
            clauses.push(`type = $${params.length}`);
          }
          params.push(limit + 1);
          const { rows } = await q<InboxRow>(
            pool,
            `SELECT * FROM ${S}.inbox WHERE ${clauses.join(" AND ")} ORDER BY seq DESC LIMIT $${params.length}`,
            params,
          );
          return page(rows.map(toInbox), limit, (r) => [r.seq]);
        }),
      stats: (account) =>
        run("inbox.stats", async () => {
          const [byState, quarantined] = await Promise.all([
            q<{ state: string; type: string; n: number; last: number }>(
              pool,
              `SELECT state, type, count(*) AS n, max(received_at) AS last FROM ${S}.inbox WHERE account = $1 GROUP BY state, type`,
              [account],
            ),
            q<{ n: number; last: number | null }>(
              pool,
              `SELECT count(*) AS n, max(received_at) AS last FROM ${S}.quarantine WHERE account = $1`,
              [account],
            ),
          ]);
          return inboxStatsFrom(byState.rows, quarantined.rows[0] ?? { n: 0, last: null });
        }),
      quarantine: (entry) =>
        run("inbox.quarantine", async () => {
          const { rows } = await q<{ id: number }>(
            pool,
            `INSERT INTO ${S}.quarantine (account, received_at, body, error) VALUES ($1, $2, $3, $4) RETURNING id`,
            [requireAccountId(entry.account), entry.receivedAt ?? Date.now(), entry.body, entry.error],
          );
          return (rows[0] as { id: number }).id;
        }),
      listQuarantined: (account, options = {}) =>
        run("inbox.listQuarantined", async () => {
          const limit = pageLimit(options);
          const before = options.after ? Number(decodeCursor(options.after)[0]) : Number.MAX_SAFE_INTEGER;
          const { rows } = await q<{
            id: number;
            account: string;
            received_at: number;
            body: string;
            error: string;
          }>(pool, `SELECT * FROM ${S}.quarantine WHERE account = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, [
            account,
            before,
            limit + 1,
          ]);
          const items: QuarantinedBatch[] = rows.map((r) => ({
            id: r.id,
            account: r.account,
            receivedAt: r.received_at,
            body: r.body,
            error: r.error,
          }));
          return page(items, limit, (b) => [b.id]);
        }),
    },
    sends: {
      record: (entries: readonly SendRecordInput[]) =>
        run("sends.record", async () => {
          const rows = entries.map(normalizeSendRecord);
          if (rows.length === 0) return;
          // One multi-row INSERT: all of a send's recipients or none.
          await q(
            pool,
            `INSERT INTO ${S}.sends (account, email, status, message_id, reject_reason, transport, correlation_id, subject, at)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[])`,
            [
              rows.map((r) => r.account),
              rows.map((r) => r.email),
              rows.map((r) => r.status),
              rows.map((r) => r.messageId),
              rows.map((r) => r.rejectReason),
              rows.map((r) => r.transport),
              rows.map((r) => r.correlationId),
              rows.map((r) => r.subject),
              rows.map((r) => r.at),
            ],
          );
        }),
      findByMessageId: (messageId) =>
        run("sends.findByMessageId", async () => {
          const { rows } = await q<SendRow>(
            pool,
            `SELECT * FROM ${S}.sends WHERE message_id = $1 ORDER BY seq DESC LIMIT 1`,
            [messageId],
          );
          return rows[0] === undefined ? undefined : toSend(rows[0]);
        }),
      list: (account, query = {}) =>
        run("sends.list", async () => {
          const limit = pageLimit(query);
          const before = query.after ? Number(decodeCursor(query.after)[0]) : Number.MAX_SAFE_INTEGER;
          if (query.email !== undefined) {
            const email = normalizeEmail(query.email);
            if (email === undefined) return { items: [], next: null };
            const { rows } = await q<SendRow>(
              pool,
              `SELECT * FROM ${S}.sends WHERE account = $1 AND email = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4`,
              [account, email, before, limit + 1],
            );
            return page(rows.map(toSend), limit, (s) => [s.seq]);
          }
          const { rows } = await q<SendRow>(
            pool,
            `SELECT * FROM ${S}.sends WHERE account = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
            [account, before, limit + 1],
          );
          return page(rows.map(toSend), limit, (s) => [s.seq]);
        }),
    },
    migrate: () => run("migrate", migrate),
    close: async () => {
      if (closed) return;
      closed = true;
      if (ownPool) {
        await pool.end();
        pool.off("error", onPoolError);
      }
    },
  };
  return store;
}
