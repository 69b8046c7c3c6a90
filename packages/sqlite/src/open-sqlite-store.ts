import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import {
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
  type SuppressionReason,
  type SuppressionRow,
  type SuppressionSource,
  silentLogger,
  toCredential,
  toInbox,
  toSend,
  toSuppression,
} from "@mandrill-kit/core";
import Database from "better-sqlite3";
import { MIGRATIONS } from "./migrations.js";
import { SUPPRESSION_CHECK_SQL } from "./queries.js";

/** Options of {@link openSqliteStore}. */
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
  /** Receives an `info` entry per applied migration. @default silentLogger */
  logger?: Logger;
}

const OPTION_NAMES = ["filename", "busyTimeoutMs", "migrate", "cacheSizeBytes", "logger"] as const;

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

/** Columns of SUPPRESSION_CHECK_SQL, read as an array (raw mode: no object per row). */
type CheckRow = [string, string, string, string | null, number, number, number | null];

function checkRowToSuppression(account: string, row: CheckRow): Suppression {
  const [email, reason, source, detail, createdAt, updatedAt, expiresAt] = row;
  return {
    account,
    email,
    reason: reason as SuppressionReason,
    source: source as SuppressionSource,
    detail,
    createdAt,
    updatedAt,
    expiresAt,
    liftedAt: null,
    liftedBy: null,
    liftReason: null,
  };
}

function resolveOptions(
  options: SqliteStoreOptions,
): Required<Omit<SqliteStoreOptions, "logger">> & { logger: Logger } {
  const o = checkOptions("openSqliteStore", options, OPTION_NAMES);
  if (typeof o.filename !== "string" || o.filename.length === 0) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "filename",
      `openSqliteStore() needs filename: a path such as "./data/mandrill.db", or ":memory:"; received ${JSON.stringify(o.filename)}.`,
    );
  }
  const busy = o.busyTimeoutMs ?? 5000;
  if (typeof busy !== "number" || !Number.isInteger(busy) || busy < 0) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "busyTimeoutMs",
      `openSqliteStore() busyTimeoutMs must be a non-negative integer; received ${JSON.stringify(busy)}.`,
    );
  }
  const cache = o.cacheSizeBytes ?? 64 * 1024 * 1024;
  if (typeof cache !== "number" || !Number.isInteger(cache) || cache < 0) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "cacheSizeBytes",
      `openSqliteStore() cacheSizeBytes must be a non-negative integer; received ${JSON.stringify(cache)}.`,
    );
  }
  if (o.migrate !== undefined && typeof o.migrate !== "boolean") {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "migrate",
      `openSqliteStore() migrate must be true or false; received ${JSON.stringify(o.migrate)}.`,
    );
  }
  return {
    filename: o.filename,
    busyTimeoutMs: busy,
    cacheSizeBytes: cache,
    migrate: o.migrate ?? true,
    logger: (o.logger as Logger | undefined) ?? silentLogger,
  };
}

/**
 * Opens (creating if needed) a SQLite store: WAL journal, `synchronous=FULL` so an acknowledged
 * write survives power loss, a busy timeout so several processes can share the file, IMMEDIATE write
 * transactions, and numbered migrations recorded in `mk_migrations` (applied on open unless
 * `migrate: false`).
 *
 * ```ts
 * const store = openSqliteStore({ filename: "./data/mandrill.db" });
 * ```
 */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const config = resolveOptions(options);
  const log = componentLogger(config.logger, { component: "store" });
  const onDisk = config.filename !== ":memory:" && !config.filename.startsWith("file:");
  let handle: Database.Database | undefined;
  try {
    let created = false;
    if (onDisk) {
      // The file holds ciphertexts, addresses and webhook payloads: private to the service's user.
      mkdirSync(dirname(config.filename), { recursive: true, mode: 0o700 });
      created = !existsSync(config.filename);
    }
    const db = new Database(config.filename, { timeout: config.busyTimeoutMs });
    handle = db;
    if (created) chmodSync(config.filename, 0o600);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    db.pragma(`busy_timeout = ${config.busyTimeoutMs}`);
    db.pragma(`cache_size = ${-Math.floor(config.cacheSizeBytes / 1024)}`);
    // Webhook ingest writes ~1 MB of WAL per 1,000-event batch; checkpointing every 16 MB instead of
    // SQLite's default 4 MB means fewer fsyncs of the main file and pages rewritten once, not often.
    db.pragma("wal_autocheckpoint = 4000");
    db.exec(`CREATE TABLE IF NOT EXISTS mk_migrations (
      version    INTEGER NOT NULL PRIMARY KEY,
      name       TEXT    NOT NULL,
      applied_at INTEGER NOT NULL
    ) STRICT`);
  } catch (error) {
    handle?.close();
    throw new MandrillKitStoreError(
      "ERR_MK_STORE_FAILED",
      `Could not open the SQLite database ${JSON.stringify(config.filename)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const db = handle as Database.Database;
  let closed = false;

  const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
  const schemaVersion = (): number =>
    (db.prepare("SELECT coalesce(max(version), 0) AS v FROM mk_migrations").get() as { v: number }).v;

  function migrate(): void {
    for (const migration of MIGRATIONS) {
      const apply = db.transaction(() => {
        // Re-read inside the IMMEDIATE transaction: another process may have applied it meanwhile.
        const current = schemaVersion();
        if (current > latest) {
          throw new MandrillKitStoreError(
            "ERR_MK_STORE_SCHEMA_TOO_NEW",
            `The database ${JSON.stringify(config.filename)} is at schema version ${current}, newer than this version of @mandrill-kit/sqlite knows (${latest}). Upgrade the package.`,
          );
        }
        if (current >= migration.version) return false;
        db.exec(migration.sql);
        db.prepare("INSERT INTO mk_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
          migration.version,
          migration.name,
          Date.now(),
        );
        return true;
      });
      try {
        if (apply.immediate())
          log.info(
            { version: migration.version },
            `applied migration ${migration.version}: ${migration.name}`,
          );
      } catch (error) {
        if (isMandrillKitError(error)) throw error;
        throw new MandrillKitStoreError(
          "ERR_MK_STORE_MIGRATION_FAILED",
          `Migration ${migration.version} (${migration.name}) failed on ${JSON.stringify(config.filename)}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  }

  function checkSchema(): void {
    const current = schemaVersion();
    if (current > latest) {
      throw new MandrillKitStoreError(
        "ERR_MK_STORE_SCHEMA_TOO_NEW",
        `The database ${JSON.stringify(config.filename)} is at schema version ${current}, newer than this version of @mandrill-kit/sqlite knows (${latest}). Upgrade the package.`,
      );
    }
    if (current < latest) {
      throw new MandrillKitStoreError(
        "ERR_MK_STORE_MIGRATION_FAILED",
        `The database ${JSON.stringify(config.filename)} is at schema version ${current}; this version needs ${latest}. Open it with migrate: true or call store.migrate().`,
      );
    }
  }

  try {
    if (config.migrate) migrate();
    else checkSchema();
  } catch (error) {
    db.close();
    throw error;
  }

  const sql = {
    credGet: db.prepare<[string], CredentialRow>("SELECT * FROM credentials WHERE account = ?"),
    credInsert: db.prepare(
      "INSERT INTO credentials (account, version, settings, secrets, created_at, updated_at) VALUES (@account, @version, @settings, @secrets, @at, @at)",
    ),
    credUpdate: db.prepare(
      "UPDATE credentials SET version = @version, settings = @settings, secrets = @secrets, updated_at = @at WHERE account = @account AND version = @previous",
    ),
    credDelete: db.prepare<[string]>("DELETE FROM credentials WHERE account = ?"),
    credList: db.prepare<[string, number], CredentialRow>(
      "SELECT * FROM credentials WHERE account > ? ORDER BY account LIMIT ?",
    ),
    supGet: db.prepare<[string, string], SuppressionRow>(
      "SELECT * FROM suppressions WHERE account = ? AND email = ?",
    ),
    // Positional parameters on the hot paths: named binding costs microseconds per row in better-sqlite3.
    supUpsert: db.prepare<
      [
        string,
        string,
        string,
        string,
        string | null,
        number,
        number,
        number | null,
        number | null,
        string | null,
        string | null,
      ]
    >(`INSERT INTO suppressions (account, email, reason, source, detail, created_at, updated_at, expires_at, lifted_at, lifted_by, lift_reason)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (account, email) DO UPDATE SET reason = excluded.reason, source = excluded.source, detail = excluded.detail,
        created_at = excluded.created_at, updated_at = excluded.updated_at, expires_at = excluded.expires_at,
        lifted_at = excluded.lifted_at, lifted_by = excluded.lifted_by, lift_reason = excluded.lift_reason`),
    supLift: db.prepare(
      "UPDATE suppressions SET lifted_at = @at, lifted_by = @by, lift_reason = @reason, updated_at = @at WHERE account = @account AND email = @email",
    ),
    supCheck: db
      .prepare<[{ account: string; emails: string; now: number }], CheckRow>(SUPPRESSION_CHECK_SQL)
      .raw(true),
    softBounceCount: db.prepare<[string, string, number, number], { n: number }>(
      "SELECT count(*) AS n FROM inbox WHERE account = ? AND email = ? AND type = 'soft_bounce' AND event_at > ? AND event_at <= ?",
    ),
    inboxInsert: db.prepare<
      [
        string,
        string,
        string,
        string | null,
        string | null,
        number | null,
        string,
        number,
        string,
        number | null,
        number | null,
      ]
    >(
      `INSERT INTO inbox (account, key, type, email, message_id, event_at, raw, received_at, state, attempts, next_attempt_at, completed_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
      ON CONFLICT (account, key) DO NOTHING`,
    ),
    inboxGet: db.prepare<[string, string], InboxRow>("SELECT * FROM inbox WHERE account = ? AND key = ?"),
    inboxClaimAll: db.prepare<
      [{ now: number; leaseMs: number; limit: number }],
      InboxRow
    >(`UPDATE inbox SET lease_until = @now + @leaseMs, attempts = attempts + 1
      WHERE seq IN (SELECT seq FROM inbox WHERE state = 'pending' AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)
                    ORDER BY next_attempt_at, seq LIMIT @limit)
      RETURNING *`),
    inboxClaimAccount: db.prepare<
      [{ now: number; leaseMs: number; limit: number; account: string }],
      InboxRow
    >(`UPDATE inbox SET lease_until = @now + @leaseMs, attempts = attempts + 1
      WHERE seq IN (SELECT seq FROM inbox WHERE state = 'pending' AND account = @account AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)
                    ORDER BY next_attempt_at, seq LIMIT @limit)
      RETURNING *`),
    inboxComplete: db.prepare<[number, string, string]>(
      "UPDATE inbox SET state = 'done', lease_until = NULL, next_attempt_at = NULL, completed_at = ? WHERE account = ? AND key = ?",
    ),
    inboxRetry: db.prepare<[string, number, string, string]>(
      "UPDATE inbox SET state = 'pending', last_error = ?, next_attempt_at = ?, lease_until = NULL WHERE account = ? AND key = ?",
    ),
    inboxDead: db.prepare<[string, number, string, string]>(
      "UPDATE inbox SET state = 'dead', last_error = ?, next_attempt_at = NULL, lease_until = NULL, completed_at = ? WHERE account = ? AND key = ?",
    ),
    inboxReplay: db.prepare<[number, string, string]>(
      "UPDATE inbox SET state = 'pending', attempts = 0, next_attempt_at = ?, lease_until = NULL, completed_at = NULL WHERE account = ? AND key = ?",
    ),
    inboxStats: db.prepare<[string], { state: string; type: string; n: number; last: number }>(
      "SELECT state, type, count(*) AS n, max(received_at) AS last FROM inbox WHERE account = ? GROUP BY state, type",
    ),
    quarantineInsert: db.prepare<[string, number, string, string]>(
      "INSERT INTO quarantine (account, received_at, body, error) VALUES (?, ?, ?, ?)",
    ),
    quarantineList: db.prepare<
      [string, number, number],
      { id: number; account: string; received_at: number; body: string; error: string }
    >("SELECT * FROM quarantine WHERE account = ? AND id < ? ORDER BY id DESC LIMIT ?"),
    quarantineStats: db.prepare<[string], { n: number; last: number | null }>(
      "SELECT count(*) AS n, max(received_at) AS last FROM quarantine WHERE account = ?",
    ),
    sendInsert:
      db.prepare(`INSERT INTO sends (account, email, status, message_id, reject_reason, transport, correlation_id, subject, at)
      VALUES (@account, @email, @status, @messageId, @rejectReason, @transport, @correlationId, @subject, @at)`),
    sendByMessageId: db.prepare<[string], SendRow>(
      "SELECT * FROM sends WHERE message_id = ? ORDER BY seq DESC LIMIT 1",
    ),
    sendList: db.prepare<[string, number, number], SendRow>(
      "SELECT * FROM sends WHERE account = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
    ),
    sendListEmail: db.prepare<[string, string, number, number], SendRow>(
      "SELECT * FROM sends WHERE account = ? AND email = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
    ),
  };

  /** Runs `fn` (synchronously) unless closed, mapping driver errors to store errors. */
  async function run<T>(what: string, fn: () => T): Promise<T> {
    if (closed)
      throw new MandrillKitStoreError(
        "ERR_MK_STORE_CLOSED",
        `The SQLite store ${JSON.stringify(config.filename)} is closed (${what}).`,
      );
    try {
      return fn();
    } catch (error) {
      if (isMandrillKitError(error)) throw error;
      throw new MandrillKitStoreError(
        "ERR_MK_STORE_FAILED",
        `SQLite ${what} failed on ${JSON.stringify(config.filename)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  function writeSuppression(s: Suppression): void {
    sql.supUpsert.run(
      s.account,
      s.email,
      s.reason,
      s.source,
      s.detail,
      s.createdAt,
      s.updatedAt,
      s.expiresAt,
      s.liftedAt,
      s.liftedBy,
      s.liftReason,
    );
  }

  function addOne(n: NormalizedSuppressionInput): SuppressionAddResult {
    const row = sql.supGet.get(n.account, n.email);
    const { status, next } = mergeSuppression(row === undefined ? undefined : toSuppression(row), n);
    if (status !== "unchanged") writeSuppression(next);
    return { status, suppression: next };
  }

  function liftOne(account: string, email: string, options: SuppressionLiftOptions): boolean {
    const row = sql.supGet.get(account, email);
    const next = liftSuppression(row === undefined ? undefined : toSuppression(row), {
      ...options,
      at: options.at ?? Date.now(),
    });
    if (next === undefined) return false;
    writeSuppression(next);
    return true;
  }

  const addManyTx = db.transaction((inputs: NormalizedSuppressionInput[]) => inputs.map(addOne));

  function suppressionWhere(account: string, query: SuppressionQuery): { where: string; params: unknown[] } {
    const now = query.now ?? Date.now();
    const clauses = ["account = ?"];
    const params: unknown[] = [account];
    const status = query.status ?? "active";
    if (status === "active") {
      clauses.push("lifted_at IS NULL AND (expires_at IS NULL OR expires_at > ?)");
      params.push(now);
    } else if (status === "expired") {
      clauses.push("lifted_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?");
      params.push(now);
    } else if (status === "lifted") {
      clauses.push("lifted_at IS NOT NULL");
    }
    if (query.reason !== undefined) {
      clauses.push("reason = ?");
      params.push(query.reason);
    }
    if (query.source !== undefined) {
      clauses.push("source = ?");
      params.push(query.source);
    }
    if (query.search !== undefined && query.search !== "") {
      clauses.push("email LIKE ? ESCAPE '\\'");
      params.push(`%${escapeLike(query.search.toLowerCase())}%`);
    }
    return { where: clauses.join(" AND "), params };
  }

  const ingestTx = db.transaction((batch: IngestBatch, account: string, receivedAt: number): IngestResult => {
    const result: IngestResult = { inserted: [], duplicates: [], effects: [] };
    for (const e of batch.events) {
      const done = e.state === "done";
      const info = sql.inboxInsert.run(
        account,
        e.key,
        e.type,
        e.email === null ? null : (normalizeEmail(e.email) ?? null),
        e.messageId,
        e.eventAt,
        e.raw,
        receivedAt,
        done ? "done" : "pending",
        done ? null : receivedAt,
        done ? receivedAt : null,
      );
      if (info.changes === 0) {
        result.duplicates.push(e.key);
        continue;
      }
      result.inserted.push(e.key);
      if (e.effects === undefined || e.effects.length === 0) continue;
      applySuppressionEffects(
        {
          get: (email) => {
            const row = sql.supGet.get(account, email);
            return row === undefined ? undefined : toSuppression(row);
          },
          put: writeSuppression,
          countSoftBounces: (email, after, until) =>
            (sql.softBounceCount.get(account, email, after, until) as { n: number }).n,
        },
        { account, key: e.key, eventAt: e.eventAt, effects: e.effects },
        receivedAt,
        result.effects,
      );
    }
    return result;
  });

  /**
   * Bookkeeping commits without an fsync (synchronous=NORMAL for that transaction): handler claims,
   * done/retry/dead marks (losing the last of these to a power cut only means a handler runs again,
   * which at-least-once allows) and send records (the mail is already out). Acknowledged webhook
   * events, suppressions and credentials always commit with synchronous=FULL.
   */
  const syncNormal = db.prepare("PRAGMA synchronous = NORMAL");
  const syncFull = db.prepare("PRAGMA synchronous = FULL");
  function bookkeeping<T>(fn: () => T): T {
    if (config.filename === ":memory:") return fn();
    syncNormal.run();
    try {
      return fn();
    } finally {
      syncFull.run();
    }
  }

  const claimTx = db.transaction((options: ClaimOptions): InboxRow[] => {
    const { now, limit, leaseMs, account } = normalizeClaimOptions(options);
    return account === undefined
      ? sql.inboxClaimAll.all({ now, leaseMs, limit })
      : sql.inboxClaimAccount.all({ now, leaseMs, limit, account });
  });

  const completeManyTx = db.transaction(
    (events: readonly { account: string; key: string }[], now: number) => {
      let changed = 0;
      for (const { account, key } of events) changed += sql.inboxComplete.run(now, account, key).changes;
      return changed;
    },
  );

  const recordTx = db.transaction((rows: Record<string, unknown>[]) => {
    for (const row of rows) sql.sendInsert.run(row);
  });

  function requireInboxRow(account: string, key: string): void {
    if (sql.inboxGet.get(account, key) === undefined) {
      throw new MandrillKitNotFoundError(
        `No inbox event ${JSON.stringify(key)} for account ${JSON.stringify(account)}.`,
      );
    }
  }

  const store: SqliteStore = {
    kind: "sqlite",
    filename: config.filename,
    database: db,
    schemaVersion,
    integrityCheck: () => String(db.pragma("integrity_check", { simple: true })),
    credentials: {
      get: (account) =>
        run("credentials.get", () => {
          const row = sql.credGet.get(requireAccountId(account));
          return row === undefined ? undefined : toCredential(row);
        }),
      put: (account, write: CredentialWrite, options: CredentialPutOptions = {}) =>
        run("credentials.put", () => {
          requireAccountId(account);
          checkCredentialWrite(write);
          const at = options.at ?? Date.now();
          const settings = JSON.stringify(write.settings);
          const secrets = JSON.stringify(write.secrets);
          const tx = db.transaction(() => {
            const existing = sql.credGet.get(account);
            const current = existing?.version ?? 0;
            if (options.expectedVersion !== undefined && options.expectedVersion !== current) {
              throw new MandrillKitStoreError(
                "ERR_MK_STORE_CONFLICT",
                `Credentials of account ${JSON.stringify(account)} changed meanwhile (expected version ${options.expectedVersion}, found ${current}).`,
              );
            }
            if (existing === undefined) sql.credInsert.run({ account, version: 1, settings, secrets, at });
            else
              sql.credUpdate.run({ account, version: current + 1, settings, secrets, at, previous: current });
            return sql.credGet.get(account) as CredentialRow;
          });
          return toCredential(tx.immediate());
        }),
      delete: (account) =>
        run("credentials.delete", () => sql.credDelete.run(requireAccountId(account)).changes > 0),
      list: (options: PageOptions = {}) =>
        run("credentials.list", () => {
          const limit = pageLimit(options);
          const after = options.after ? String(decodeCursor(options.after)[0]) : "";
          const rows = sql.credList.all(after, limit + 1).map(toCredential);
          return page(rows, limit, (r) => [r.account]);
        }),
    },
    suppressions: {
      add: (input: SuppressionInput) =>
        run("suppressions.add", () => {
          const n = normalizeSuppressionInput(input);
          return db.transaction(() => addOne(n)).immediate();
        }),
      addMany: (inputs) =>
        run("suppressions.addMany", () => {
          const normalized = inputs.map((i) => normalizeSuppressionInput(i));
          return addManyTx.immediate(normalized);
        }),
      remove: (account, email, options) =>
        run("suppressions.remove", () => {
          requireAccountId(account);
          const e = normalizeEmail(email);
          if (e === undefined) return false;
          return db.transaction(() => liftOne(account, e, options)).immediate();
        }),
      check: (account, emails, options = {}) =>
        run("suppressions.check", () => {
          requireAccountId(account);
          const normalized = new Set<string>();
          for (const raw of emails) {
            const e = normalizeEmail(raw);
            if (e !== undefined) normalized.add(e);
          }
          if (normalized.size === 0) return [];
          return sql.supCheck
            .all({ account, emails: JSON.stringify([...normalized]), now: options.now ?? Date.now() })
            .map((row) => checkRowToSuppression(account, row));
        }),
      get: (account, email) =>
        run("suppressions.get", () => {
          requireAccountId(account);
          const e = normalizeEmail(email);
          const row = e === undefined ? undefined : sql.supGet.get(account, e);
          return row === undefined ? undefined : toSuppression(row);
        }),
      list: (account, query = {}) =>
        run("suppressions.list", () => {
          requireAccountId(account);
          const limit = pageLimit(query);
          const { where, params } = suppressionWhere(account, query);
          const after = query.after ? String(decodeCursor(query.after)[0]) : null;
          const rows = db
            .prepare<unknown[], SuppressionRow>(
              `SELECT * FROM suppressions WHERE ${where}${after === null ? "" : " AND email > ?"} ORDER BY email LIMIT ?`,
            )
            .all(...params, ...(after === null ? [] : [after]), limit + 1)
            .map(toSuppression);
          return page(rows, limit, (s) => [s.email]);
        }),
      count: (account, query = {}) =>
        run("suppressions.count", () => {
          requireAccountId(account);
          const { where, params } = suppressionWhere(account, query);
          return (
            db
              .prepare<unknown[], { n: number }>(`SELECT count(*) AS n FROM suppressions WHERE ${where}`)
              .get(...params) as { n: number }
          ).n;
        }),
    },
    inbox: {
      ingest: (batch: IngestBatch) =>
        run("inbox.ingest", () => {
          const account = requireAccountId(batch.account);
          const receivedAt = batch.receivedAt ?? Date.now();
          // Validate every effect before the transaction: a bad one aborts the whole batch.
          const events = batch.events.map(normalizeInboxEvent);
          return ingestTx.immediate({ ...batch, events }, account, receivedAt);
        }),
      claim: (options: ClaimOptions = {}) =>
        run("inbox.claim", () =>
          bookkeeping(() => claimTx.immediate(options))
            .sort((a, b) => (a.next_attempt_at ?? 0) - (b.next_attempt_at ?? 0) || a.seq - b.seq)
            .map(toInbox),
        ),
      complete: (account, key, options = {}) =>
        run("inbox.complete", () => {
          if (bookkeeping(() => sql.inboxComplete.run(options.now ?? Date.now(), account, key).changes) === 0)
            requireInboxRow(account, key);
        }),
      completeMany: (events, options = {}) =>
        run("inbox.completeMany", () =>
          bookkeeping(() => completeManyTx.immediate(events, options.now ?? Date.now())),
        ),
      fail: (account, key, options: FailOptions) =>
        run("inbox.fail", () => {
          const error = String(options.error).slice(0, 2000);
          const changes = bookkeeping(() =>
            options.retryAt === null
              ? sql.inboxDead.run(error, options.now ?? Date.now(), account, key).changes
              : sql.inboxRetry.run(error, options.retryAt, account, key).changes,
          );
          if (changes === 0) requireInboxRow(account, key);
        }),
      replay: (account, key, options = {}) =>
        run("inbox.replay", () => sql.inboxReplay.run(options.now ?? Date.now(), account, key).changes > 0),
      get: (account, key) =>
        run("inbox.get", () => {
          const row = sql.inboxGet.get(account, key);
          return row === undefined ? undefined : toInbox(row);
        }),
      list: (account, query = {}) =>
        run("inbox.list", () => {
          const limit = pageLimit(query);
          const before = query.after ? Number(decodeCursor(query.after)[0]) : Number.MAX_SAFE_INTEGER;
          const clauses = ["account = ?", "seq < ?"];
          const params: unknown[] = [account, before];
          if (query.state !== undefined) {
            clauses.push("state = ?");
            params.push(query.state);
          }
          if (query.type !== undefined) {
            clauses.push("type = ?");
            params.push(query.type);
          }
          const rows = db
            .prepare<unknown[], InboxRow>(
              `SELECT * FROM inbox WHERE ${clauses.join(" AND ")} ORDER BY seq DESC LIMIT ?`,
            )
            .all(...params, limit + 1)
            .map(toInbox);
          return page(rows, limit, (r) => [r.seq]);
        }),
      stats: (account) =>
        run("inbox.stats", () => {
          return inboxStatsFrom(
            sql.inboxStats.all(account),
            sql.quarantineStats.get(account) as { n: number; last: number | null },
          );
        }),
      quarantine: (entry) =>
        run("inbox.quarantine", () =>
          Number(
            sql.quarantineInsert.run(
              requireAccountId(entry.account),
              entry.receivedAt ?? Date.now(),
              entry.body,
              entry.error,
            ).lastInsertRowid,
          ),
        ),
      listQuarantined: (account, options = {}) =>
        run("inbox.listQuarantined", () => {
          const limit = pageLimit(options);
          const before = options.after ? Number(decodeCursor(options.after)[0]) : Number.MAX_SAFE_INTEGER;
          const rows: QuarantinedBatch[] = sql.quarantineList.all(account, before, limit + 1).map((r) => ({
            id: r.id,
            account: r.account,
            receivedAt: r.received_at,
            body: r.body,
            error: r.error,
          }));
          return page(rows, limit, (q) => [q.id]);
        }),
    },
    sends: {
      record: (entries: readonly SendRecordInput[]) =>
        run("sends.record", () => {
          const rows = entries.map(normalizeSendRecord);
          // Send records map Mandrill ids back to accounts; the mail itself is already out, and losing the
          // last records to a power cut loses correlation, not mail: no fsync per send.
          bookkeeping(() => recordTx.immediate(rows));
        }),
      findByMessageId: (messageId) =>
        run("sends.findByMessageId", () => {
          const row = sql.sendByMessageId.get(messageId);
          return row === undefined ? undefined : toSend(row);
        }),
      list: (account, query = {}) =>
        run("sends.list", () => {
          const limit = pageLimit(query);
          const before = query.after ? Number(decodeCursor(query.after)[0]) : Number.MAX_SAFE_INTEGER;
          if (query.email !== undefined) {
            const email = normalizeEmail(query.email);
            if (email === undefined) return { items: [], next: null };
            return page(sql.sendListEmail.all(account, email, before, limit + 1).map(toSend), limit, (s) => [
              s.seq,
            ]);
          }
          return page(sql.sendList.all(account, before, limit + 1).map(toSend), limit, (s) => [s.seq]);
        }),
    },
    migrate: () => run("migrate", migrate),
    close: async () => {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
  return store;
}
