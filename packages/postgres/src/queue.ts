/**
 * The dispatch queue of the PostgreSQL inbox (migrations 4 and 5; the layout is described in core's
 * adapter/inbox-queue.ts): picking due events, completing, dead-lettering and queuing events again.
 */
import type { CompleteUnwantedOptions, FailOptions } from "@mandrill-kit/core";
import { inboxNotFound, normalizeCompleteUnwantedOptions, type TypeFilter } from "@mandrill-kit/core/adapter";
import type { Pool, PoolClient } from "pg";
import { type Queryable, q, tx } from "./queries.js";

/**
 * The due, unleased pending events (oldest due first, at most `limit`), optionally of one account and
 * in (or not in) a type filter, locked with SKIP LOCKED: concurrent claims (other instances) pass
 * over rows another claim is taking instead of waiting for it. Parameters: $1 now, $2 limit, then
 * the account and the filter's types and `unknown` flag, as given.
 */
export function dueRows(
  S: string,
  account: string | undefined,
  filter: { types: TypeFilter; wanted: boolean } | undefined,
): { sql: string; values: unknown[] } {
  const values: unknown[] = [];
  const where = ["next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)"];
  if (account !== undefined) {
    values.push(account);
    where.push(`account = $${values.length + 2}`);
  }
  if (filter !== undefined) {
    values.push(filter.types.exact, filter.types.unknownPrefix);
    const n = values.length + 2;
    const match = `(type = ANY($${n - 1}::text[]) OR ($${n}::boolean AND left(type, 8) = 'unknown:'))`;
    where.push(filter.wanted ? match : `NOT ${match}`);
  }
  return {
    sql: `SELECT next_attempt_at, seq FROM ${S}.inbox_pending WHERE ${where.join(" AND ")}
          ORDER BY next_attempt_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED`,
    values,
  };
}

/**
 * Marks done the events selected by `events` (a query of `account, seq, state, due_at` from `inbox`), at $1: a queued
 * pending one moves from inbox_pending to inbox_done; a queued done one gets the new completion time;
 * any other (dead, stored done) is set done in its row. Resolves with how many events there were.
 */
export async function markDone(
  pool: Queryable,
  S: string,
  events: string,
  values: unknown[],
): Promise<number> {
  const { rows } = await q<{ n: number }>(
    pool,
    `WITH ev AS (${events}),
     gone AS (
       DELETE FROM ${S}.inbox_pending p USING ev
       WHERE p.next_attempt_at = ev.due_at AND p.seq = ev.seq AND ev.state = 'queued'
       RETURNING p.seq, p.attempts
     ), moved AS (
       INSERT INTO ${S}.inbox_done (seq, attempts, completed_at) SELECT seq, attempts, $1 FROM gone
     ), again AS (
       UPDATE ${S}.inbox_done d SET completed_at = $1 FROM ev WHERE d.seq = ev.seq AND ev.state = 'queued'
     ), other AS (
       UPDATE ${S}.inbox i SET state = 'done', due_at = NULL, completed_at = $1
       FROM ev WHERE i.account = ev.account AND i.seq = ev.seq AND ev.state <> 'queued'
     )
     SELECT count(*)::int AS n FROM ev`,
    values,
  );
  return rows[0]?.n ?? 0;
}

/** `inbox.completeUnwanted`: one statement moving the due rows of unwanted types to inbox_done (SKIP LOCKED: see dueRows). */
export async function completeUnwanted(
  pool: Queryable,
  S: string,
  options: CompleteUnwantedOptions,
): Promise<number> {
  const { wanted, limit, now, account } = normalizeCompleteUnwantedOptions(options);
  const due = dueRows(S, account, { types: wanted, wanted: false });
  const { rowCount } = await q(
    pool,
    `WITH due AS (${due.sql}),
     gone AS (
       DELETE FROM ${S}.inbox_pending p USING due WHERE p.next_attempt_at = due.next_attempt_at AND p.seq = due.seq
       RETURNING p.seq, p.attempts
     )
     INSERT INTO ${S}.inbox_done (seq, attempts, completed_at) SELECT seq, attempts, $1 FROM gone`,
    [now, limit, ...due.values],
  );
  return rowCount;
}

/** An event row as fail and replay read it, locked for the rewrite they make. */
interface LockedEvent {
  seq: number;
  account: string;
  type: string;
  attempts: number;
  completed_at: number | null;
  due_at: number | null;
}

/**
 * Takes an event off the queue, in `client`'s transaction: locks its row, deletes its queue rows,
 * and resolves with the row and the attempts and completion time it had (`undefined`: no such event).
 */
async function unqueue(
  client: PoolClient,
  S: string,
  account: string,
  key: string,
): Promise<{ event: LockedEvent; attempts: number; completedAt: number | null } | undefined> {
  const { rows } = await q<LockedEvent>(
    client,
    `SELECT seq, account, type, attempts, completed_at, due_at FROM ${S}.inbox WHERE account = $1 AND key = $2 FOR UPDATE`,
    [account, key],
  );
  const event = rows[0];
  if (event === undefined) return undefined;
  const pending = await q<{ attempts: number }>(
    client,
    `DELETE FROM ${S}.inbox_pending WHERE next_attempt_at = $1 AND seq = $2 RETURNING attempts`,
    [event.due_at, event.seq],
  );
  const done = await q<{ attempts: number; completed_at: number }>(
    client,
    `DELETE FROM ${S}.inbox_done WHERE seq = $1 RETURNING attempts, completed_at`,
    [event.seq],
  );
  return {
    event,
    attempts: pending.rows[0]?.attempts ?? done.rows[0]?.attempts ?? event.attempts,
    completedAt: done.rows[0]?.completed_at ?? event.completed_at,
  };
}

/** Queues an event taken off the queue by {@link unqueue} again, due at `dueAt`, and rewrites its row. */
async function requeue(
  client: PoolClient,
  S: string,
  event: LockedEvent,
  dueAt: number,
  attempts: number,
  set: string,
  values: unknown[],
): Promise<void> {
  await q(
    client,
    `INSERT INTO ${S}.inbox_pending (seq, account, type, next_attempt_at, lease_until, attempts)
     VALUES ($1, $2, $3, $4, NULL, $5)`,
    [event.seq, event.account, event.type, dueAt, attempts],
  );
  await q(
    client,
    `UPDATE ${S}.inbox SET state = 'queued', due_at = $2, ${set} WHERE account = $${values.length + 3} AND seq = $1`,
    [event.seq, dueAt, ...values, event.account],
  );
}

/**
 * `inbox.fail`: dead-letters the event (its state back in its own row, off the queue), or queues it
 * again for `retryAt`. Attempts and completion time carry over as the event had them. One
 * transaction (the queue row is filed under its due time, so a new due time is a new row).
 */
export async function failOne(
  pool: Pool,
  S: string,
  account: string,
  key: string,
  options: FailOptions,
): Promise<void> {
  const error = String(options.error).slice(0, 2000);
  const found = await tx(pool, async (client) => {
    const taken = await unqueue(client, S, account, key);
    if (taken === undefined) return false;
    if (options.retryAt === null) {
      await q(
        client,
        `UPDATE ${S}.inbox SET state = 'dead', due_at = NULL, last_error = $2, completed_at = $3, attempts = $4
         WHERE account = $5 AND seq = $1`,
        [taken.event.seq, error, options.now ?? Date.now(), taken.attempts, taken.event.account],
      );
    } else {
      await requeue(
        client,
        S,
        taken.event,
        options.retryAt,
        taken.attempts,
        "last_error = $3, completed_at = $4",
        [error, taken.completedAt],
      );
    }
    return true;
  });
  if (!found) throw inboxNotFound(account, key);
}

/** `inbox.replay`: queues the event again, due now, attempts reset (whatever its state). */
export async function replayOne(
  pool: Pool,
  S: string,
  account: string,
  key: string,
  now: number,
): Promise<boolean> {
  return tx(pool, async (client) => {
    const taken = await unqueue(client, S, account, key);
    if (taken === undefined) return false;
    await requeue(client, S, taken.event, now, 0, "attempts = 0, completed_at = NULL", []);
    return true;
  });
}

/** Store-wide pending and dead counts and the earliest due time: inbox_pending, and the partial index inbox_dead. */
