/**
 * The SQLite `inbox` repository: events, their processing state, and quarantined bodies. Pending
 * events are dispatched through the queue of queue.ts (migration 5; core's adapter/inbox-queue.ts).
 */
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
  distinctEvents,
  eventsWithQueue,
  type InboxRow,
  inboxNotFound,
  inboxStatsFrom,
  type NormalizedInboxEvent,
  normalizeIngestBatch,
  page,
  pageLimit,
  QUEUED_RECORD_COLUMNS,
  type QuarantineRow,
  queuedListSql,
  queuedStatsSql,
  SqlParams,
  storeFailed,
  toInbox,
  toQuarantined,
} from "@mandrill-kit/core/adapter";
import type Database from "better-sqlite3";
import type { Checkpointer } from "./checkpointer.js";
import type { SqliteContext } from "./connection.js";
import { sqliteQueue } from "./queue.js";
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
      `INSERT INTO inbox (account, key, type, email, message_id, event_at, raw, received_at, state, attempts, due_at, completed_at)
      VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?, ?, 0, ?, ?)
      ON CONFLICT (account, key) DO NOTHING`,
    ),
    softBounceCount: db.prepare<[string, string, number, number], { n: number }>(
      "SELECT count(*) AS n FROM inbox WHERE account = ? AND email = ? AND type = 'soft_bounce' AND event_at > ? AND event_at <= ?",
    ),
    get: db.prepare<[string, string], InboxRow>(
      `SELECT ${QUEUED_RECORD_COLUMNS} FROM ${eventsWithQueue("main")} WHERE i.account = ? AND i.key = ?`,
    ),
    stats: db.prepare<[string], { state: string; type: string; n: number; last: number }>(
      queuedStatsSql("main", "?"),
    ),
    quarantine: db.prepare<[string, number, string, string]>(
      "INSERT INTO quarantine (account, received_at, body, error) VALUES (?, ?, ?, ?)",
    ),
    quarantineList: db.prepare<[string, number, number], QuarantineRow>(
      "SELECT * FROM quarantine WHERE account = ? AND id < ? ORDER BY id DESC LIMIT ?",
    ),
    backlog: db.prepare<[], { pending: number; dead: number; oldest: number | null }>(
      `SELECT (SELECT count(*) FROM inbox_pending) AS pending,
              (SELECT count(*) FROM inbox INDEXED BY inbox_dead WHERE state = 'dead') AS dead,
              (SELECT min(next_attempt_at) FROM inbox_pending) AS oldest`,
    ),
    quarantineStats: db.prepare<[string], { n: number; last: number | null }>(
      "SELECT count(*) AS n, max(received_at) AS last FROM quarantine WHERE account = ?",
    ),
  };
}

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
  queue: ReturnType<typeof sqliteQueue>,
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
        done ? "done" : "queued",
        done ? null : receivedAt,
        done ? receivedAt : null,
      );
      if (info.changes === 0) {
        result.duplicates.push(e.key);
        continue;
      }
      if (!done) queue.enqueue(Number(info.lastInsertRowid), account, e.type, receivedAt, 0);
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
  const queue = sqliteQueue(db);
  const suppressions = suppressionRows(db);

  const ingest = durableIngest(context, sql, suppressions, queue);

  // Claims, completions and failures are bookkeeping (no fsync: see connection.ts); each is one
  // IMMEDIATE transaction, so another process on the file never claims the same event meanwhile.
  const claimTx = db.transaction(queue.claim);
  const completeTx = db.transaction(queue.complete);
  const completeManyTx = db.transaction(
    (events: readonly { account: string; key: string }[], now: number) => {
      let found = 0;
      for (const { account, key } of distinctEvents(events)) if (queue.complete(account, key, now)) found++;
      return found;
    },
  );
  const completeUnwantedTx = db.transaction(queue.completeUnwanted);
  const failTx = db.transaction(queue.fail);
  const replayTx = db.transaction(queue.replay);

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
        if (!bookkeeping(() => completeTx.immediate(account, key, options.now ?? Date.now())))
          throw inboxNotFound(account, key);
      }),
    completeMany: (events, options = {}) =>
      run("inbox.completeMany", () =>
        bookkeeping(() => completeManyTx.immediate(events, options.now ?? Date.now())),
      ),
    completeUnwanted: (options) =>
      run("inbox.completeUnwanted", () => bookkeeping(() => completeUnwantedTx.immediate(options))),
    fail: (account, key, options: FailOptions) =>
      run("inbox.fail", () => {
        const error = String(options.error).slice(0, 2000);
        if (!bookkeeping(() => failTx.immediate(account, key, options, error)))
          throw inboxNotFound(account, key);
      }),
    replay: (account, key, options = {}) =>
      run("inbox.replay", () => replayTx.immediate(account, key, options.now ?? Date.now())),
    get: (account, key) =>
      run("inbox.get", () => {
        const row = sql.get.get(account, key);
        return row === undefined ? undefined : toInbox(row);
      }),
    list: (account, query = {}) =>
      run("inbox.list", () => {
        const limit = pageLimit(query);
        const params = new SqlParams(() => "?");
        const sqlText = queuedListSql("main", params, account, beforeSeq(query), query, limit + 1);
        const rows = db
          .prepare<unknown[], InboxRow>(sqlText)
          .all(...params.values)
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
    // Answered from the queue and the partial index inbox_dead.
    backlog: () => run("inbox.backlog", () => backlogFrom(sql.backlog.get())),
  };
}
