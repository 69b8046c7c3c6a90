/**
 * The dispatch queue of the SQLite inbox (migration 5; the layout is described in core's
 * adapter/inbox-queue.ts): queuing events at ingest, claiming due ones, completing, dead-lettering
 * and queuing events again. Every function here runs inside the caller's transaction.
 */
import type { ClaimOptions, FailOptions } from "@mandrill-kit/core";
import {
  type InboxRow,
  normalizeClaimOptions,
  normalizeCompleteUnwantedOptions,
  type TypeFilter,
} from "@mandrill-kit/core/adapter";
import type Database from "better-sqlite3";

/** An event row as the queue reads it to find (and rewrite) its queue rows. */
interface QueuedEvent {
  seq: number;
  account: string;
  type: string;
  state: string;
  attempts: number;
  completed_at: number | null;
  due_at: number | null;
}

/** Parameters of the due-event selections (see {@link dueStatements}). */
interface DueParams {
  now: number;
  limit: number;
  leaseMs?: number;
  account?: string;
  /** JSON array of the filter's exact types. */
  types?: string;
  /** 1 when the filter's `unknown` matches `unknown:<name>` too. */
  unknown?: number;
}

/** A queue row as a claim returns it. */
interface ClaimedRow {
  seq: number;
  next_attempt_at: number;
  lease_until: number;
  attempts: number;
}

/** A queue row as the removal of unwanted ones returns it. */
interface RemovedRow {
  seq: number;
  attempts: number;
}

/**
 * The claim (`UPDATE … RETURNING` of the due, unleased queue rows, oldest due first) and the removal of
 * due rows of unwanted types, for each combination of an account and a type filter; prepared on first
 * use. Both walk inbox_pending in its primary key order, which is the claim order: the account is
 * written `+account` so that SQLite, which has no statistics here, does not read the account's whole
 * queue through inbox_pending_account (migration 6, for listing) and sort it instead.
 */
function dueStatements(db: Database.Database) {
  const cache = new Map<string, Database.Statement<[DueParams], ClaimedRow | RemovedRow>>();
  const inTypes =
    "(type IN (SELECT value FROM json_each(@types)) OR (@unknown AND substr(type, 1, 8) = 'unknown:'))";
  const statement = (what: "claim" | "unwanted", account: boolean, types: boolean) => {
    const id = `${what}:${account}:${types}`;
    let prepared = cache.get(id);
    if (prepared === undefined) {
      const where = [
        "next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)",
        ...(account ? ["+account = @account"] : []),
        ...(types ? [what === "claim" ? inTypes : `NOT ${inTypes}`] : []),
      ].join(" AND ");
      const due = `(next_attempt_at, seq) IN (SELECT next_attempt_at, seq FROM inbox_pending WHERE ${where}
                   ORDER BY next_attempt_at, seq LIMIT @limit)`;
      prepared = db.prepare<[DueParams], ClaimedRow | RemovedRow>(
        what === "claim"
          ? `UPDATE inbox_pending SET lease_until = @now + @leaseMs, attempts = attempts + 1 WHERE ${due}
             RETURNING seq, next_attempt_at, lease_until, attempts`
          : `DELETE FROM inbox_pending WHERE ${due} RETURNING seq, attempts`,
      );
      cache.set(id, prepared);
    }
    return prepared;
  };
  return {
    claim: (account: boolean, types: boolean) =>
      statement("claim", account, types) as Database.Statement<[DueParams], ClaimedRow>,
    unwanted: (account: boolean) =>
      statement("unwanted", account, true) as Database.Statement<[DueParams], RemovedRow>,
  };
}

const typeParams = (filter: TypeFilter | undefined) =>
  filter === undefined ? {} : { types: JSON.stringify(filter.exact), unknown: filter.unknownPrefix ? 1 : 0 };

/** The queue's statements on `db`; each method runs in the caller's transaction. */
export function sqliteQueue(db: Database.Database) {
  const due = dueStatements(db);
  const sql = {
    enqueue: db.prepare<[number, number, string, string, number]>(
      "INSERT INTO inbox_pending (next_attempt_at, seq, account, type, lease_until, attempts) VALUES (?, ?, ?, ?, NULL, ?)",
    ),
    find: db.prepare<[string, string], QueuedEvent>(
      "SELECT seq, account, type, state, attempts, completed_at, due_at FROM inbox WHERE account = ? AND key = ?",
    ),
    claimedEvent: db.prepare<[number], InboxRow>(
      `SELECT seq, account, key, type, email, message_id, event_at, raw, received_at, last_error, completed_at
       FROM inbox WHERE seq = ?`,
    ),
    unpend: db.prepare<[number | null, number], { attempts: number }>(
      "DELETE FROM inbox_pending WHERE next_attempt_at = ? AND seq = ? RETURNING attempts",
    ),
    undone: db.prepare<[number], { attempts: number; completed_at: number }>(
      "DELETE FROM inbox_done WHERE seq = ? RETURNING attempts, completed_at",
    ),
    // Completing a done event again only moves its completion time (as for a 'done' row).
    done: db.prepare<[number, number, number]>(
      `INSERT INTO inbox_done (seq, attempts, completed_at) VALUES (?, ?, ?)
       ON CONFLICT (seq) DO UPDATE SET completed_at = excluded.completed_at`,
    ),
    setDone: db.prepare<[number, number]>("UPDATE inbox SET state = 'done', completed_at = ? WHERE seq = ?"),
    dead: db.prepare<[string, number, number, number]>(
      "UPDATE inbox SET state = 'dead', due_at = NULL, last_error = ?, completed_at = ?, attempts = ? WHERE seq = ?",
    ),
    requeue: db.prepare<[number, string | null, number | null, number, number]>(
      "UPDATE inbox SET state = 'queued', due_at = ?, last_error = coalesce(?, last_error), completed_at = ?, attempts = ? WHERE seq = ?",
    ),
  };

  /** Takes the event off the queue: its queue rows deleted, with the attempts and completion time it had. */
  const unqueue = (event: QueuedEvent) => {
    const pending = event.due_at === null ? undefined : sql.unpend.get(event.due_at, event.seq);
    const done = sql.undone.get(event.seq);
    return {
      attempts: pending?.attempts ?? done?.attempts ?? event.attempts,
      completedAt: done?.completed_at ?? event.completed_at,
    };
  };

  /** Puts event `seq` on the queue, due at `dueAt`; its row says `'queued'` with `due_at = dueAt`. */
  const enqueue = (seq: number, account: string, type: string, dueAt: number, attempts: number) =>
    sql.enqueue.run(dueAt, seq, account, type, attempts);

  return {
    /** At ingest: the event just inserted as `'queued'`, due at `dueAt`, goes on the queue. */
    enqueue,

    /** `inbox.claim`: the claimed events as rows, state 'pending' with their new lease. */
    claim(options: ClaimOptions): InboxRow[] {
      const { now, limit, leaseMs, account, types } = normalizeClaimOptions(options);
      const claimed = due.claim(account !== undefined, types !== undefined).all({
        now,
        leaseMs,
        limit,
        ...(account === undefined ? {} : { account }),
        ...typeParams(types),
      });
      return claimed.map((c) => ({
        ...(sql.claimedEvent.get(c.seq) as InboxRow),
        state: "pending",
        attempts: c.attempts,
        next_attempt_at: c.next_attempt_at,
        lease_until: c.lease_until,
      }));
    },

    /** Marks one event done at `now`; false when there is no such event. */
    complete(account: string, key: string, now: number): boolean {
      const event = sql.find.get(account, key);
      if (event === undefined) return false;
      if (event.state !== "queued") sql.setDone.run(now, event.seq);
      else {
        const pending = event.due_at === null ? undefined : sql.unpend.get(event.due_at, event.seq);
        sql.done.run(event.seq, pending?.attempts ?? event.attempts, now);
      }
      return true;
    },

    /** `inbox.completeUnwanted`: the due rows of unwanted types move to inbox_done, unrun. */
    completeUnwanted(options: Parameters<typeof normalizeCompleteUnwantedOptions>[0]): number {
      const { wanted, limit, now, account } = normalizeCompleteUnwantedOptions(options);
      const params = { now, limit, ...(account === undefined ? {} : { account }), ...typeParams(wanted) };
      const gone = due.unwanted(account !== undefined).all(params);
      for (const g of gone) sql.done.run(g.seq, g.attempts, now);
      return gone.length;
    },

    /**
     * `inbox.fail`: dead-letters the event (its state back in its own row, off the queue), or queues
     * it again for `retryAt`; attempts and completion time carry over. False: no such event.
     */
    fail(account: string, key: string, options: FailOptions, error: string): boolean {
      const event = sql.find.get(account, key);
      if (event === undefined) return false;
      const taken = unqueue(event);
      if (options.retryAt === null) {
        sql.dead.run(error, options.now ?? Date.now(), taken.attempts, event.seq);
      } else {
        enqueue(event.seq, event.account, event.type, options.retryAt, taken.attempts);
        sql.requeue.run(options.retryAt, error, taken.completedAt, taken.attempts, event.seq);
      }
      return true;
    },

    /** `inbox.replay`: queues the event again, due `now`, attempts reset (whatever its state). */
    replay(account: string, key: string, now: number): boolean {
      const event = sql.find.get(account, key);
      if (event === undefined) return false;
      unqueue(event);
      enqueue(event.seq, event.account, event.type, now, 0);
      sql.requeue.run(now, null, null, 0, event.seq);
      return true;
    },
  };
}
