/** The PostgreSQL `inbox` repository: events, their processing state, and quarantined bodies. */
import {
  type ClaimOptions,
  type CompleteUnwantedOptions,
  type FailOptions,
  type InboxBacklog,
  type InboxRepository,
  requireAccountId,
} from "@mandrill-kit/core";
import {
  beforeSeq,
  claimOrder,
  type InboxRow,
  inboxNotFound,
  inboxStatsFrom,
  inboxWhere,
  normalizeClaimOptions,
  normalizeCompleteUnwantedOptions,
  normalizeIngestBatch,
  page,
  pageLimit,
  type QuarantineRow,
  SqlParams,
  type TypeFilter,
  toInbox,
  toQuarantined,
} from "@mandrill-kit/core/adapter";
import type { PgContext } from "./connection.js";
import { ingest } from "./ingest.js";
import { type Queryable, q } from "./queries.js";
import { suppressionLocks } from "./suppressions.js";

/**
 * The due, unleased pending events (oldest due first, at most `limit`), optionally of one account and
 * in (or not in) a type filter, locked with SKIP LOCKED: concurrent claims (other instances) pass
 * over rows another claim is taking instead of waiting for it. Parameters: $1 now, $2 limit, then
 * the account and the filter's types and `unknown` flag, as given.
 */
function dueRows(
  S: string,
  account: string | undefined,
  filter: { types: TypeFilter; wanted: boolean } | undefined,
): { sql: string; values: unknown[] } {
  const values: unknown[] = [];
  const where = [
    "state = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)",
  ];
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
    sql: `SELECT seq FROM ${S}.inbox WHERE ${where.join(" AND ")}
          ORDER BY next_attempt_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED`,
    values,
  };
}

/** `inbox.completeUnwanted`: one UPDATE of the due rows of unwanted types (SKIP LOCKED: see dueRows). */
async function completeUnwanted(
  pool: Queryable,
  S: string,
  options: CompleteUnwantedOptions,
): Promise<number> {
  const { wanted, limit, now, account } = normalizeCompleteUnwantedOptions(options);
  const due = dueRows(S, account, { types: wanted, wanted: false });
  const { rowCount } = await q(
    pool,
    `WITH due AS (${due.sql})
     UPDATE ${S}.inbox i SET state = 'done', lease_until = NULL, next_attempt_at = NULL, completed_at = $1
     FROM due WHERE i.seq = due.seq`,
    [now, limit, ...due.values],
  );
  return rowCount;
}

/** Store-wide pending and dead counts and the earliest due time, from the partial indexes inbox_due and inbox_dead. */
async function readBacklog(pool: PgContext["pool"], S: string): Promise<InboxBacklog> {
  const { rows } = await q<{ pending: number; dead: number; oldest: string | null }>(
    pool,
    `SELECT (SELECT count(*)::int FROM ${S}.inbox WHERE state = 'pending') AS pending,
            (SELECT count(*)::int FROM ${S}.inbox WHERE state = 'dead') AS dead,
            (SELECT min(next_attempt_at) FROM ${S}.inbox WHERE state = 'pending') AS oldest`,
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
  /** Runs an UPDATE of one event; `ERR_MK_NOT_FOUND` when there is no such event. */
  async function updateOne(account: string, key: string, set: string, values: unknown[]): Promise<void> {
    const { rowCount } = await q(pool, `UPDATE ${S}.inbox SET ${set} WHERE account = $1 AND key = $2`, [
      account,
      key,
      ...values,
    ]);
    if (rowCount === 0) throw inboxNotFound(account, key);
  }

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
          `WITH due AS (${due.sql})
           UPDATE ${S}.inbox i SET lease_until = $1::bigint + $${due.values.length + 3}::bigint, attempts = i.attempts + 1
           FROM due WHERE i.seq = due.seq
           RETURNING i.*`,
          [now, limit, ...due.values, leaseMs],
        );
        return rows.map(toInbox).sort(claimOrder);
      }),
    complete: (account, key, options = {}) =>
      run("inbox.complete", () =>
        updateOne(
          account,
          key,
          "state = 'done', lease_until = NULL, next_attempt_at = NULL, completed_at = $3",
          [options.now ?? Date.now()],
        ),
      ),
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
    completeUnwanted: (options) => run("inbox.completeUnwanted", () => completeUnwanted(pool, S, options)),
    fail: (account, key, options: FailOptions) =>
      run("inbox.fail", () => {
        const error = String(options.error).slice(0, 2000);
        return options.retryAt === null
          ? updateOne(
              account,
              key,
              "state = 'dead', last_error = $3, next_attempt_at = NULL, lease_until = NULL, completed_at = $4",
              [error, options.now ?? Date.now()],
            )
          : updateOne(
              account,
              key,
              "state = 'pending', last_error = $3, next_attempt_at = $4, lease_until = NULL",
              [error, options.retryAt],
            );
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
        const { rows } = await q<InboxRow>(pool, `SELECT * FROM ${S}.inbox WHERE account = $1 AND key = $2`, [
          account,
          key,
        ]);
        return rows[0] === undefined ? undefined : toInbox(rows[0]);
      }),
    list: (account, query = {}) =>
      run("inbox.list", async () => {
        const limit = pageLimit(query);
        const params = new SqlParams((n) => `$${n}`);
        const where = inboxWhere(params, account, beforeSeq(query), query);
        const { rows } = await q<InboxRow>(
          pool,
          `SELECT * FROM ${S}.inbox WHERE ${where} ORDER BY seq DESC LIMIT ${params.add(limit + 1)}`,
          params.values,
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
