/** The PostgreSQL `inbox` repository: events, their processing state, and quarantined bodies. */
import {
  type ClaimOptions,
  type FailOptions,
  type InboxBacklog,
  type InboxRepository,
  requireAccountId,
} from "@mandrill-kit/core";
import {
  beforeSeq,
  claimOrder,
  eventsWithQueue,
  type InboxRow,
  inboxNotFound,
  inboxStatsFrom,
  normalizeClaimOptions,
  normalizeIngestBatch,
  page,
  pageLimit,
  QUEUED_RECORD_COLUMNS,
  type QuarantineRow,
  queuedListSql,
  queuedStatsSql,
  SqlParams,
  toInbox,
  toQuarantined,
} from "@mandrill-kit/core/adapter";
import type { PgContext } from "./connection.js";
import { ingest } from "./ingest.js";
import { q } from "./queries.js";
import { completeUnwanted, dueRows, failOne, markDone, replayOne } from "./queue.js";
import { suppressionLocks } from "./suppressions.js";

/**
 * How an event's dispatch state is stored (migrations 4 and 5): the queue layout of core's
 * adapter/inbox-queue.ts, which also gives the SQL reading an event's state through it. The `inbox`
 * row's primary key is (account, seq) (migration 6): a statement that finds an event by its seq
 * names its account too.
 */

async function readBacklog(pool: PgContext["pool"], S: string): Promise<InboxBacklog> {
  const { rows } = await q<{ pending: number; dead: number; oldest: string | null }>(
    pool,
    `SELECT (SELECT count(*)::int FROM ${S}.inbox_pending) AS pending,
            (SELECT count(*)::int FROM ${S}.inbox WHERE state = 'dead') AS dead,
            (SELECT min(next_attempt_at) FROM ${S}.inbox_pending) AS oldest`,
    [],
  );
  const row = rows[0] ?? { pending: 0, dead: 0, oldest: null };
  return {
    pending: row.pending,
    dead: row.dead,
    oldestDueAt: row.oldest === null ? null : Number(row.oldest),
  };
}

export function pgInbox({ pool, S, run }: PgContext): InboxRepository {
  const locks = suppressionLocks(S);
  return {
    ingest: (batch) =>
      run("inbox.ingest", () =>
        // Validate every event and effect before the transaction: a bad one aborts the whole batch.
        ingest(pool, S, locks, normalizeIngestBatch(batch)),
      ),
    claim: (options: ClaimOptions = {}) =>
      run("inbox.claim", async () => {
        const { now, limit, leaseMs, account, types } = normalizeClaimOptions(options);
        // Never the same row to two claims while its lease holds (SKIP LOCKED: see dueRows).
        const due = dueRows(S, account, types === undefined ? undefined : { types, wanted: true });
        const { rows } = await q<InboxRow>(
          pool,
          `WITH due AS (${due.sql}),
           claimed AS (
             UPDATE ${S}.inbox_pending p SET lease_until = $1::bigint + $${due.values.length + 3}::bigint, attempts = p.attempts + 1
             FROM due WHERE p.next_attempt_at = due.next_attempt_at AND p.seq = due.seq
             RETURNING p.account, p.seq, p.attempts, p.next_attempt_at, p.lease_until
           )
           SELECT i.seq, i.account, i.key, i.type, i.email, i.message_id, i.event_at, i.raw, i.received_at,
                  'pending' AS state, c.attempts, c.next_attempt_at, c.lease_until, i.last_error, i.completed_at
           FROM claimed c JOIN ${S}.inbox i ON i.account = c.account AND i.seq = c.seq`,
          [now, limit, ...due.values, leaseMs],
        );
        return rows.map(toInbox).sort(claimOrder);
      }),
    complete: (account, key, options = {}) =>
      run("inbox.complete", async () => {
        const n = await markDone(
          pool,
          S,
          `SELECT account, seq, state, due_at FROM ${S}.inbox WHERE account = $2 AND key = $3`,
          [options.now ?? Date.now(), account, key],
        );
        if (n === 0) throw inboxNotFound(account, key);
      }),
    completeMany: (events, options = {}) =>
      run("inbox.completeMany", async () => {
        if (events.length === 0) return 0;
        return markDone(
          pool,
          S,
          `SELECT i.account, i.seq, i.state, i.due_at FROM (SELECT DISTINCT * FROM unnest($2::text[], $3::text[])) AS w(account, key)
           JOIN ${S}.inbox i ON i.account = w.account AND i.key = w.key`,
          [options.now ?? Date.now(), events.map((e) => e.account), events.map((e) => e.key)],
        );
      }),
    completeUnwanted: (options) => run("inbox.completeUnwanted", () => completeUnwanted(pool, S, options)),
    fail: (account, key, options: FailOptions) =>
      run("inbox.fail", () => failOne(pool, S, account, key, options)),
    replay: (account, key, options = {}) =>
      run("inbox.replay", () => replayOne(pool, S, account, key, options.now ?? Date.now())),
    get: (account, key) =>
      run("inbox.get", async () => {
        const { rows } = await q<InboxRow>(
          pool,
          `SELECT ${QUEUED_RECORD_COLUMNS} FROM ${eventsWithQueue(S)} WHERE i.account = $1 AND i.key = $2`,
          [account, key],
        );
        return rows[0] === undefined ? undefined : toInbox(rows[0]);
      }),
    list: (account, query = {}) =>
      run("inbox.list", async () => {
        const limit = pageLimit(query);
        const params = new SqlParams((n) => `$${n}`);
        const { rows } = await q<InboxRow>(
          pool,
          queuedListSql(S, params, account, beforeSeq(query), query, limit + 1),
          params.values,
        );
        return page(rows.map(toInbox), limit, (r) => [r.seq]);
      }),
    stats: (account) =>
      run("inbox.stats", async () => {
        const [byState, quarantined] = await Promise.all([
          q<{ state: string; type: string; n: number; last: number }>(pool, queuedStatsSql(S, "$1"), [
            account,
          ]),
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
        const { rows } = await q<QuarantineRow>(
          pool,
          `SELECT * FROM ${S}.quarantine WHERE account = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
          [account, beforeSeq(options), limit + 1],
        );
        return page(rows.map(toQuarantined), limit, (b) => [b.id]);
      }),
    backlog: () => run("inbox.backlog", () => readBacklog(pool, S)),
  };
}
