/** The SQLite `suppressions` repository. */
import {
  normalizeEmail,
  requireAccountId,
  type Suppression,
  type SuppressionAddResult,
  type SuppressionLiftOptions,
  type SuppressionReason,
  type SuppressionRepository,
  type SuppressionSource,
} from "@mandrill-kit/core";
import {
  afterKey,
  checkList,
  liftSuppression,
  mergeSuppression,
  type NormalizedSuppressionInput,
  normalizeSuppressionInput,
  page,
  pageLimit,
  SqlParams,
  SUPPRESSION_COLUMNS,
  type SuppressionRow,
  suppressionValues,
  suppressionWhere,
  toSuppression,
} from "@mandrill-kit/core/adapter";
import type Database from "better-sqlite3";
import type { SqliteContext } from "./connection.js";
import { sqliteMandrillSync } from "./mandrill-sync.js";
import { SUPPRESSION_CHECK_SQL } from "./queries.js";

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

/** Reading and writing one suppression inside a transaction; the inbox's ingest uses it too. */
export interface SuppressionRows {
  get(account: string, email: string): Suppression | undefined;
  put(next: Suppression): void;
}

export function suppressionRows(db: Database.Database): SuppressionRows {
  const get = db.prepare<[string, string], SuppressionRow>(
    "SELECT * FROM suppressions WHERE account = ? AND email = ?",
  );
  // Positional parameters on the hot paths: named binding costs microseconds per row in better-sqlite3.
  const upsert = db.prepare<ReturnType<typeof suppressionValues>>(
    `INSERT INTO suppressions (${SUPPRESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (account, email) DO UPDATE SET reason = excluded.reason, source = excluded.source, detail = excluded.detail,
        created_at = excluded.created_at, updated_at = excluded.updated_at, expires_at = excluded.expires_at,
        lifted_at = excluded.lifted_at, lifted_by = excluded.lifted_by, lift_reason = excluded.lift_reason`,
  );
  return {
    get(account, email) {
      const row = get.get(account, email);
      return row === undefined ? undefined : toSuppression(row);
    },
    put: (next) => upsert.run(...suppressionValues(next)),
  };
}

export function sqliteSuppressions(context: SqliteContext): SuppressionRepository {
  const { db, run } = context;
  const rows = suppressionRows(db);
  const check = db
    .prepare<[{ account: string; emails: string; now: number }], CheckRow>(SUPPRESSION_CHECK_SQL)
    .raw(true);

  function addOne(n: NormalizedSuppressionInput): SuppressionAddResult {
    const { status, next } = mergeSuppression(rows.get(n.account, n.email), n);
    if (status !== "unchanged") rows.put(next);
    return { status, suppression: next };
  }
  const addManyTx = db.transaction((inputs: NormalizedSuppressionInput[]) => inputs.map(addOne));
  const liftTx = db.transaction((account: string, email: string, options: SuppressionLiftOptions) => {
    const next = liftSuppression(rows.get(account, email), { ...options, at: options.at ?? Date.now() });
    if (next !== undefined) rows.put(next);
    return next !== undefined;
  });

  return {
    ...sqliteMandrillSync(context, rows),
    add: (input) =>
      run(
        "suppressions.add",
        () => addManyTx.immediate([normalizeSuppressionInput(input)])[0] as SuppressionAddResult,
      ),
    addMany: (inputs) =>
      run("suppressions.addMany", () => addManyTx.immediate(inputs.map((i) => normalizeSuppressionInput(i)))),
    remove: (account, email, options) =>
      run("suppressions.remove", () => {
        requireAccountId(account);
        const e = normalizeEmail(email);
        return e === undefined ? false : liftTx.immediate(account, e, options);
      }),
    check: (account, emails, options = {}) =>
      run("suppressions.check", () => {
        requireAccountId(account);
        const list = checkList(emails);
        if (list.length === 0) return [];
        return check
          .all({ account, emails: JSON.stringify(list), now: options.now ?? Date.now() })
          .map((row) => checkRowToSuppression(account, row));
      }),
    get: (account, email) =>
      run("suppressions.get", () => {
        requireAccountId(account);
        const e = normalizeEmail(email);
        return e === undefined ? undefined : rows.get(account, e);
      }),
    list: (account, query = {}) =>
      run("suppressions.list", () => {
        requireAccountId(account);
        const limit = pageLimit(query);
        const params = new SqlParams(() => "?");
        const after = afterKey(query);
        const where =
          suppressionWhere(params, account, query) +
          (after === null ? "" : ` AND email > ${params.add(after)}`);
        const found = db
          .prepare<unknown[], SuppressionRow>(
            `SELECT * FROM suppressions WHERE ${where} ORDER BY email LIMIT ?`,
          )
          .all(...params.values, limit + 1)
          .map(toSuppression);
        return page(found, limit, (s) => [s.email]);
      }),
    count: (account, query = {}) =>
      run("suppressions.count", () => {
        requireAccountId(account);
        const params = new SqlParams(() => "?");
        const where = suppressionWhere(params, account, query);
        const counted = db
          .prepare<unknown[], { n: number }>(`SELECT count(*) AS n FROM suppressions WHERE ${where}`)
          .get(...params.values);
        return (counted as { n: number }).n;
      }),
  };
}
