/**
 * The dispatch queue kept apart from the events, as the SQL stores lay it out (PostgreSQL migrations
 * 4–5, SQLite migration 5): the SQL that reads an event's state through the queue, shared so both
 * stores answer `get`, `list` and `stats` the same way.
 *
 * The layout. An event row in `inbox` (raw JSON and all, ~1 kB) is written once, at ingest. A pending
 * event is `state = 'queued'` there plus one narrow `inbox_pending` row (due time, lease, attempts)
 * filed under its due time: primary key (next_attempt_at, seq), the claim order. Claims update only
 * that row. Completing the event deletes it and inserts an `inbox_done` row (attempts, completion
 * time), so neither the event row nor its indexes are rewritten on the way, and a batch's bookkeeping
 * writes a few pages instead of one page per event. The event row keeps the due time its queue row is
 * filed under (`inbox.due_at`) to find it. `'done'` (stored done, or completed after being dead) and
 * `'dead'` events keep their state in the event row. Invariant: a `'queued'` event has exactly one of
 * the two queue rows; other events have neither.
 *
 * `S` below is the schema the three tables live in, as the store's SQL names it (`"main"` for SQLite,
 * the quoted schema for PostgreSQL).
 */
import type { InboxState } from "../store.js";
import type { SqlParams } from "./sql.js";

/** An event as an `InboxRow`, its state read through the queue (aliases i, p, d of {@link eventsWithQueue}). */
export const QUEUED_RECORD_COLUMNS = `i.seq, i.account, i.key, i.type, i.email, i.message_id, i.event_at, i.raw, i.received_at,
  CASE WHEN i.state <> 'queued' THEN i.state WHEN p.seq IS NULL THEN 'done' ELSE 'pending' END AS state,
  CASE WHEN i.state <> 'queued' THEN i.attempts ELSE coalesce(p.attempts, d.attempts, i.attempts) END AS attempts,
  p.next_attempt_at, p.lease_until,
  i.last_error,
  CASE WHEN i.state <> 'queued' THEN i.completed_at ELSE coalesce(d.completed_at, i.completed_at) END AS completed_at`;

/** The events with their queue rows (aliases i, p, d of {@link QUEUED_RECORD_COLUMNS}). */
export function eventsWithQueue(S: string): string {
  return `${S}.inbox i
    LEFT JOIN ${S}.inbox_pending p ON p.next_attempt_at = i.due_at AND p.seq = i.seq
    LEFT JOIN ${S}.inbox_done d ON d.seq = i.seq`;
}

/**
 * `inbox.list` on {@link eventsWithQueue}: one page of an account's events below the cursor, newest
 * first, `limit` rows (the caller asks one more than the page, to know whether more follow),
 * optionally of one state and type. Each state is read where it can be found without walking the
 * account's other events:
 * - pending: from the queue, by its index (account, seq) (`inbox_pending_account`: SQLite migration 6,
 *   PostgreSQL migration 7), newest first; then each event by its seq. With millions of done events
 *   and a few pending ones, a page reads those few rows.
 * - dead: the condition, which the partial index inbox_dead serves.
 * - done (most events) and any: the account's events newest first, to the page's end.
 */
export function queuedListSql(
  S: string,
  params: SqlParams,
  account: string,
  before: number,
  query: { state?: InboxState; type?: string },
  limit: number,
): string {
  // Each placeholder its own parameter: SQLite's `?` are positional.
  const clauses = [`i.account = ${params.add(account)}`];
  if (query.state === "pending") {
    const queue = [`q.account = ${params.add(account)}`, `q.seq < ${params.add(before)}`];
    if (query.type !== undefined) queue.push(`q.type = ${params.add(query.type)}`);
    clauses.push(
      `i.seq IN (SELECT q.seq FROM ${S}.inbox_pending q WHERE ${queue.join(" AND ")} ORDER BY q.seq DESC LIMIT ${params.add(limit)})`,
      "i.state = 'queued' AND p.seq IS NOT NULL",
    );
  } else {
    clauses.push(`i.seq < ${params.add(before)}`);
    if (query.state === "done") {
      // NOT EXISTS (rather than p.seq IS NULL): the newest-first walk stops at the page's end.
      clauses.push(
        `(i.state = 'done' OR (i.state = 'queued' AND NOT EXISTS (SELECT 1 FROM ${S}.inbox_pending q WHERE q.next_attempt_at = i.due_at AND q.seq = i.seq)))`,
      );
    } else if (query.state !== undefined) clauses.push(`i.state = ${params.add(query.state)}`);
    if (query.type !== undefined) clauses.push(`i.type = ${params.add(query.type)}`);
  }
  return `SELECT ${QUEUED_RECORD_COLUMNS} FROM ${eventsWithQueue(S)} WHERE ${clauses.join(" AND ")}
    ORDER BY i.seq DESC LIMIT ${params.add(limit)}`;
}

/**
 * `inbox.stats`' counts of one account's events by state (read through the queue) and type, with the
 * latest arrival of each group; the account is the parameter written `accountParam`.
 */
export function queuedStatsSql(S: string, accountParam: string): string {
  return `SELECT CASE WHEN i.state <> 'queued' THEN i.state WHEN p.seq IS NULL THEN 'done' ELSE 'pending' END AS state,
                 i.type, count(*) AS n, max(i.received_at) AS last
          FROM ${S}.inbox i LEFT JOIN ${S}.inbox_pending p ON p.next_attempt_at = i.due_at AND p.seq = i.seq
          WHERE i.account = ${accountParam} GROUP BY 1, 2`;
}
