/** The SQLite `inbox` repository: events, their processing state, and quarantined bodies. */
import {
  type ClaimOptions,
  type FailOptions,
  type InboxRepository,
  type IngestBatch,
  type IngestResult,
  requireAccountId,
} from "@mandrill-kit/core";
import {
  applySuppressionEffects,
  beforeSeq,
  claimOrder,
  type InboxRow,
  inboxNotFound,
  inboxStatsFrom,
  inboxWhere,
  type NormalizedInboxEvent,
  normalizeClaimOptions,
  normalizeCompleteUnwantedOptions,
  normalizeIngestBatch,
  page,
  pageLimit,
  type QuarantineRow,
  SqlParams,
  storeFailed,
  type TypeFilter,
  toInbox,
  toQuarantined,
} from "@mandrill-kit/core/adapter";
import type Database from "better-sqlite3";
import type { Checkpointer } from "./checkpointer.js";
import type { SqliteContext } from "./connection.js";
import { suppressionRows } from "./suppressions.js";

type Nullable<T> = T | null;

function statements(db: Database.Database) {
  return {
    insert: db.prepare<
      [
        string,
        string,
        string,
        Nullable<string>,
        Nullable<string>,
        Nullable<number>,
        string | Uint8Array,
        number,
        string,
        Nullable<number>,
        Nullable<number>,
      ]
    >(
      // raw: a string, or its UTF-8 bytes (rawUtf8), which the CAST stores as that text unchanged.
      `INSERT INTO inbox (account, key, type, email, message_id, event_at, raw, received_at, state, attempts, next_attempt_at, completed_at)
      VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?, ?, 0, ?, ?)
      ON CONFLICT (account, key) DO NOTHING`,
    ),
    softBounceCount: db.prepare<[string, string, number, number], { n: number }>(
      "SELECT count(*) AS n FROM inbox WHERE account = ? AND email = ? AND type = 'soft_bounce' AND event_at > ? AND event_at <= ?",
    ),
    get: db.prepare<[string, string], InboxRow>("SELECT * FROM inbox WHERE account = ? AND key = ?"),
    complete: db.prepare<[number, string, string]>(
      "UPDATE inbox SET state = 'done', lease_until = NULL, next_attempt_at = NULL, completed_at = ? WHERE account = ? AND key = ?",
    ),
    retry: db.prepare<[string, number, string, string]>(
      "UPDATE inbox SET state = 'pending', last_error = ?, next_attempt_at = ?, lease_until = NULL WHERE account = ? AND key = ?",
    ),
    dead: db.prepare<[string, number, string, string]>(
      "UPDATE inbox SET state = 'dead', last_error = ?, next_attempt_at = NULL, lease_until = NULL, completed_at = ? WHERE account = ? AND key = ?",
    ),
    replay: db.prepare<[number, string, string]>(
      "UPDATE inbox SET state = 'pending', attempts = 0, next_attempt_at = ?, lease_until = NULL, completed_at = NULL WHERE account = ? AND key = ?",
    ),
    stats: db.prepare<[string], { state: string; type: string; n: number; last: number }>(
      "SELECT state, type, count(*) AS n, max(received_at) AS last FROM inbox WHERE account = ? GROUP BY state, type",
    ),
    quarantine: db.prepare<[string, number, string, string]>(
      "INSERT INTO quarantine (account, received_at, body, error) VALUES (?, ?, ?, ?)",
    ),
    quarantineList: db.prepare<[string, number, number], QuarantineRow>(
      "SELECT * FROM quarantine WHERE account = ? AND id < ? ORDER BY id DESC LIMIT ?",
    ),
    backlog: db.prepare<[], { pending: number; dead: number; oldest: number | null }>(
      `SELECT (SELECT count(*) FROM inbox INDEXED BY inbox_due WHERE state = 'pending') AS pending,
              (SELECT count(*) FROM inbox INDEXED BY inbox_dead WHERE state = 'dead') AS dead,
              (SELECT min(next_attempt_at) FROM inbox INDEXED BY inbox_due WHERE state = 'pending') AS oldest`,
    ),
    quarantineStats: db.prepare<[string], { n: number; last: number | null }>(
      "SELECT count(*) AS n, max(received_at) AS last FROM quarantine WHERE account = ?",
    ),
  };
}

/** Parameters of the claim and completeUnwanted statements (see {@link dueStatements}). */
type DueParams = {
  now: number;
  limit: number;
  leaseMs?: number;
  account?: string;
  /** JSON array of the filter's exact types. */
  types?: string;
  /** 1 when the filter's `unknown` matches `unknown:<name>` too. */
  unknown?: number;
};

/**
 * The claim (`UPDATE … RETURNING *` of due, unleased pending events, oldest due first) and the
 * set-based completion of unwanted types, for each combination of an account and a type filter;
 * prepared on first use. Both walk the `inbox_due` partial index (pending events only).
 */
function dueStatements(db: Database.Database) {
  const cache = new Map<string, Database.Statement<[DueParams], InboxRow>>();
  const inTypes =
    "(type IN (SELECT value FROM json_each(@types)) OR (@unknown AND substr(type, 1, 8) = 'unknown:'))";
  return (what: "claim" | "completeUnwanted", account: boolean, types: boolean) => {
    const id = `${what}:${account}:${types}`;
    let statement = cache.get(id);
    if (statement === undefined) {
      const where = [
        "state = 'pending' AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)",
        ...(account ? ["account = @account"] : []),
        ...(types ? [what === "claim" ? inTypes : `NOT ${inTypes}`] : []),
      ].join(" AND ");
      const due = `SELECT seq FROM inbox WHERE ${where} ORDER BY next_attempt_at, seq LIMIT @limit`;
      statement = db.prepare<[DueParams], InboxRow>(
        what === "claim"
          ? `UPDATE inbox SET lease_until = @now + @leaseMs, attempts = attempts + 1 WHERE seq IN (${due}) RETURNING *`
          : `UPDATE inbox SET state = 'done', lease_until = NULL, next_attempt_at = NULL, completed_at = @now WHERE seq IN (${due})`,
      );
      cache.set(id, statement);
    }
    return statement;
  };
}

const typeParams = (filter: TypeFilter | undefined) =>
  filter === undefined ? {} : { types: JSON.stringify(filter.exact), unknown: filter.unknownPrefix ? 1 : 0 };

/** The backlog from its query's row. */
function backlogFrom(row: { pending: number; dead: number; oldest: number | null } | undefined) {
  return { pending: row?.pending ?? 0, dead: row?.dead ?? 0, oldestDueAt: row?.oldest ?? null };
}

/** After an ingest commit (fsynced): what it added to the WAL is checkpointed off this thread. */
function committed<T>(result: T, events: readonly NormalizedInboxEvent[], checkpointer: Checkpointer): T {
  let bytes = 0;
  for (const e of events) bytes += e.rawUtf8?.byteLength ?? e.raw.length;
  checkpointer.ingested(bytes);
  return result;
}

/**
 * The inbox's ingest: every event and its suppression effects in ONE transaction, resolved only once
 * that commit is durable (its WAL fsync waits off the event loop: see wal-sync.ts).
 */
function durableIngest(
  { db, filename, run, checkpointer, walSync }: SqliteContext,
  sql: ReturnType<typeof statements>,
  suppressions: ReturnType<typeof suppressionRows>,
) {
  // The bytes of rawUtf8 are stored as they are (CAST … AS TEXT), which reads them as the database's
  // text encoding: UTF-8 for every database this store creates, but not for one made as UTF-16.
  const bytesAreText = String(db.pragma("encoding", { simple: true })) === "UTF-8";
  const ingestTx = db.transaction((account: string, receivedAt: number, events: NormalizedInboxEvent[]) => {
    const result: IngestResult = { inserted: [], duplicates: [], effects: [] };
    const target = {
      get: (email: string) => suppressions.get(account, email),
      put: suppressions.put,
      countSoftBounces: (email: string, after: number, until: number) =>
        (sql.softBounceCount.get(account, email, after, until) as { n: number }).n,
    };
    for (const e of events) {
      const done = e.state === "done";
      const info = sql.insert.run(
        account,
        e.key,
        e.type,
        e.email,
        e.messageId,
        e.eventAt,
        bytesAreText ? (e.rawUtf8 ?? e.raw) : e.raw,
        receivedAt,
        e.state,
        done ? null : receivedAt,
        done ? receivedAt : null,
      );
      if (info.changes === 0) {
        result.duplicates.push(e.key);
        continue;
      }
      result.inserted.push(e.key);
      if (e.effects.length === 0) continue;
      applySuppressionEffects(
        target,
        { account, key: e.key, eventAt: e.eventAt, effects: e.effects },
        receivedAt,
        result.effects,
      );
    }
    return result;
  });

  return async (batch: IngestBatch): Promise<IngestResult> => {
    const { result, durable } = await run("inbox.ingest", () => {
      // Validate every event and effect before the transaction: a bad one aborts the whole batch.
      const { account, receivedAt, events } = normalizeIngestBatch(batch);
      const commit = walSync.commit(() => ingestTx.immediate(account, receivedAt, events));
      return { ...commit, result: committed(commit.result, events, checkpointer) };
    });
    // Resolves (and the batch may be acknowledged) only once the commit is on disk (see wal-sync.ts).
    await durable().catch((error: unknown) => {
      throw storeFailed(
        `SQLite inbox.ingest: the fsync of the committed batch failed on ${JSON.stringify(filename)}: ${(error as Error).message}`,
        error,
      );
    });
    return result;
  };
}

export function sqliteInbox(context: SqliteContext): InboxRepository {
  const { db, run, bookkeeping } = context;
  const sql = statements(db);
  const due = dueStatements(db);
  const suppressions = suppressionRows(db);

  const ingest = durableIngest(context, sql, suppressions);

  const claimTx = db.transaction((options: ClaimOptions): InboxRow[] => {
    const { now, limit, leaseMs, account, types } = normalizeClaimOptions(options);
    return due("claim", account !== undefined, types !== undefined).all({
      now,
      leaseMs,
      limit,
      ...(account === undefined ? {} : { account }),
      ...typeParams(types),
    });
  });

  const completeManyTx = db.transaction(
    (events: readonly { account: string; key: string }[], now: number) => {
      let changed = 0;
      for (const { account, key } of events) changed += sql.complete.run(now, account, key).changes;
      return changed;
    },
  );

  const requireRow = (account: string, key: string): void => {
    if (sql.get.get(account, key) === undefined) throw inboxNotFound(account, key);
  };

  return {
    ingest,
    claim: (options: ClaimOptions = {}) =>
      run("inbox.claim", () =>
        bookkeeping(() => claimTx.immediate(options))
          .map(toInbox)
          .sort(claimOrder),
      ),
    complete: (account, key, options = {}) =>
      run("inbox.complete", () => {
        if (bookkeeping(() => sql.complete.run(options.now ?? Date.now(), account, key).changes) === 0)
          requireRow(account, key);
      }),
    completeMany: (events, options = {}) =>
      run("inbox.completeMany", () =>
        bookkeeping(() => completeManyTx.immediate(events, options.now ?? Date.now())),
      ),
    completeUnwanted: (options) =>
      run("inbox.completeUnwanted", () => {
        const { wanted, limit, now, account } = normalizeCompleteUnwantedOptions(options);
        const statement = due("completeUnwanted", account !== undefined, true);
        const params = { now, limit, ...(account === undefined ? {} : { account }), ...typeParams(wanted) };
        // One statement, one transaction, no fsync (bookkeeping, like completeMany).
        return bookkeeping(() => statement.run(params).changes);
      }),
    fail: (account, key, options: FailOptions) =>
      run("inbox.fail", () => {
        const error = String(options.error).slice(0, 2000);
        const changes = bookkeeping(() =>
          options.retryAt === null
            ? sql.dead.run(error, options.now ?? Date.now(), account, key).changes
            : sql.retry.run(error, options.retryAt, account, key).changes,
        );
        if (changes === 0) requireRow(account, key);
      }),
    replay: (account, key, options = {}) =>
      run("inbox.replay", () => sql.replay.run(options.now ?? Date.now(), account, key).changes > 0),
    get: (account, key) =>
      run("inbox.get", () => {
        const row = sql.get.get(account, key);
        return row === undefined ? undefined : toInbox(row);
      }),
    list: (account, query = {}) =>
      run("inbox.list", () => {
        const limit = pageLimit(query);
        const params = new SqlParams(() => "?");
        const where = inboxWhere(params, account, beforeSeq(query), query);
        const rows = db
          .prepare<unknown[], InboxRow>(`SELECT * FROM inbox WHERE ${where} ORDER BY seq DESC LIMIT ?`)
          .all(...params.values, limit + 1)
          .map(toInbox);
        return page(rows, limit, (r) => [r.seq]);
      }),
    stats: (account) =>
      run("inbox.stats", () =>
        inboxStatsFrom(
          sql.stats.all(account),
          sql.quarantineStats.get(account) as { n: number; last: number | null },
        ),
      ),
    quarantine: (entry) =>
      run("inbox.quarantine", () => {
        const { account, receivedAt, body, error } = entry;
        return Number(
          sql.quarantine.run(requireAccountId(account), receivedAt ?? Date.now(), body, error)
            .lastInsertRowid,
        );
      }),
    listQuarantined: (account, options = {}) =>
      run("inbox.listQuarantined", () => {
        const limit = pageLimit(options);
        const rows = sql.quarantineList.all(account, beforeSeq(options), limit + 1).map(toQuarantined);
        return page(rows, limit, (q) => [q.id]);
      }),
    // Both answered from the partial indexes inbox_due and inbox_dead.
    backlog: () => run("inbox.backlog", () => backlogFrom(sql.backlog.get())),
  };
}
