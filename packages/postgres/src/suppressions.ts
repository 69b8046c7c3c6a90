/** The PostgreSQL `suppressions` repository, and the locked read/write its writes and ingest share. */
import {
  normalizeEmail,
  requireAccountId,
  type Suppression,
  type SuppressionAddResult,
  type SuppressionLiftOptions,
  type SuppressionRepository,
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
import type { Pool, PoolClient } from "pg";
import type { PgContext } from "./connection.js";
import { RaceLost } from "./errors.js";
import { pgMandrillSync } from "./mandrill-sync.js";
import { q, tx } from "./queries.js";

/** A suppression read for update, and whether it exists in the database (for the write that follows). */
export interface Loaded {
  value: Suppression | undefined;
  existed: boolean;
  dirty: boolean;
}

/** Suppressions read under lock, by {@link loadedKey}. */
export type LoadedSuppressions = Map<string, Loaded>;

export const loadedKey = (account: string, email: string): string => `${account}\u0000${email}`;

/** Reading under lock and writing back the suppressions a transaction changes. */
export interface SuppressionLocks {
  /** Reads (and row-locks, in a consistent order) the suppressions of the given account/address pairs. */
  load(client: PoolClient, pairs: { account: string; email: string }[]): Promise<LoadedSuppressions>;
  /**
   * Writes the changed entries: rows read under lock are updated; new rows are inserted, and when a
   * concurrent transaction inserted the same address first, the transaction is run again on fresh reads.
   */
  write(client: PoolClient, loaded: LoadedSuppressions): Promise<void>;
  /**
   * The same writes as SQL text with the values inline (for txWithLast: sent with the COMMIT), or ""
   * when nothing changed. New rows are a plain INSERT: one that a concurrent transaction inserted
   * first fails it on the primary key (23505), and the transaction runs again on fresh reads.
   */
  writeSql(loaded: LoadedSuppressions): string;
}

/** Which of the {@link SUPPRESSION_COLUMNS} are BIGINT (the others are TEXT). */
const BIGINT_COLUMNS = new Set([5, 6, 7, 8]);

/**
 * A string as an SQL literal (as pg's escapeLiteral, kept here for the older pg versions the peer
 * range allows): quotes doubled; with a backslash, backslashes doubled in an E'' string, which reads
 * the same whatever standard_conforming_strings is.
 */
function literal(text: string): string {
  const quoted = text.replaceAll("'", "''");
  return text.includes("\\") ? ` E'${quoted.replaceAll("\\", "\\\\")}'` : `'${quoted}'`;
}

/** One suppression as a row of SQL literals, typed, in the order of {@link SUPPRESSION_COLUMNS}. */
function literalRow(s: Suppression): string {
  const values = suppressionValues(s).map((v, i) => {
    const type = BIGINT_COLUMNS.has(i) ? "bigint" : "text";
    if (v === null || v === undefined) return `NULL::${type}`;
    // Safe integers as digits; anything else as a quoted literal, for the server to cast (or refuse).
    if (typeof v === "number" && Number.isSafeInteger(v)) return `${v}::${type}`;
    return `${literal(String(v))}::${type}`;
  });
  return `(${values.join(", ")})`;
}

const UNNEST =
  "unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[])";

/** Column arrays of `list` for {@link UNNEST}. */
function columns(list: Suppression[]): unknown[][] {
  const rows = list.map(suppressionValues);
  return Array.from({ length: 11 }, (_, i) => rows.map((row) => row[i]));
}

/**
 * The entries of the given account/address pairs (none existing, unchanged), then the rows read for
 * them under lock (existing), into `loaded` (a new map by default).
 */
export function loadedFrom(
  pairs: readonly { account: string; email: string }[],
  rows: readonly SuppressionRow[],
  loaded: LoadedSuppressions = new Map(),
): LoadedSuppressions {
  for (const p of pairs) {
    const k = loadedKey(p.account, p.email);
    if (!loaded.has(k)) loaded.set(k, { value: undefined, existed: false, dirty: false });
  }
  for (const row of rows) {
    loaded.set(loadedKey(row.account, row.email), { value: toSuppression(row), existed: true, dirty: false });
  }
  return loaded;
}

export function suppressionLocks(S: string): SuppressionLocks {
  return {
    async load(client, pairs) {
      const loaded = loadedFrom(pairs, []);
      if (loaded.size === 0) return loaded;
      const unique = [...new Map(pairs.map((p) => [loadedKey(p.account, p.email), p])).values()];
      const { rows } = await q<SuppressionRow>(
        client,
        `SELECT s.* FROM ${S}.suppressions s
          JOIN unnest($1::text[], $2::text[]) AS w(account, email) ON s.account = w.account AND s.email = w.email
          ORDER BY s.account, s.email FOR UPDATE OF s`,
        [unique.map((p) => p.account), unique.map((p) => p.email)],
      );
      return loadedFrom([], rows, loaded);
    },
    async write(client, loaded) {
      const existing: Suppression[] = [];
      const fresh: Suppression[] = [];
      for (const l of loaded.values()) {
        if (!l.dirty || l.value === undefined) continue;
        (l.existed ? existing : fresh).push(l.value);
      }
      if (existing.length > 0) {
        await q(
          client,
          `UPDATE ${S}.suppressions s SET reason = w.reason, source = w.source, detail = w.detail, created_at = w.created_at,
             updated_at = w.updated_at, expires_at = w.expires_at, lifted_at = w.lifted_at, lifted_by = w.lifted_by, lift_reason = w.lift_reason
           FROM ${UNNEST} AS w(${SUPPRESSION_COLUMNS}) WHERE s.account = w.account AND s.email = w.email`,
          columns(existing),
        );
      }
      if (fresh.length > 0) {
        const { rowCount } = await q(
          client,
          `INSERT INTO ${S}.suppressions (${SUPPRESSION_COLUMNS}) SELECT * FROM ${UNNEST} ON CONFLICT (account, email) DO NOTHING`,
          columns(fresh),
        );
        if (rowCount < fresh.length) throw new RaceLost("A suppression was written concurrently");
      }
    },
    writeSql(loaded) {
      const existing: string[] = [];
      const fresh: string[] = [];
      for (const l of loaded.values()) {
        if (!l.dirty || l.value === undefined) continue;
        (l.existed ? existing : fresh).push(literalRow(l.value));
      }
      const statements: string[] = [];
      if (existing.length > 0) {
        statements.push(
          `UPDATE ${S}.suppressions s SET reason = w.reason, source = w.source, detail = w.detail, created_at = w.created_at,
             updated_at = w.updated_at, expires_at = w.expires_at, lifted_at = w.lifted_at, lifted_by = w.lifted_by, lift_reason = w.lift_reason
           FROM (VALUES ${existing.join(", ")}) AS w(${SUPPRESSION_COLUMNS}) WHERE s.account = w.account AND s.email = w.email`,
        );
      }
      if (fresh.length > 0) {
        statements.push(`INSERT INTO ${S}.suppressions (${SUPPRESSION_COLUMNS}) VALUES ${fresh.join(", ")}`);
      }
      return statements.join(";\n");
    },
  };
}

/** Marks the loaded entry of `next` as changed to it. */
export function stage(loaded: LoadedSuppressions, next: Suppression): void {
  const l = loaded.get(loadedKey(next.account, next.email)) as Loaded;
  l.value = next;
  l.dirty = true;
}

function addMany(pool: Pool, locks: SuppressionLocks, inputs: NormalizedSuppressionInput[]) {
  if (inputs.length === 0) return Promise.resolve([]);
  return tx(pool, async (client): Promise<SuppressionAddResult[]> => {
    const loaded = await locks.load(client, inputs);
    const results = inputs.map((n) => {
      const { status, next } = mergeSuppression(loaded.get(loadedKey(n.account, n.email))?.value, n);
      if (status !== "unchanged") stage(loaded, next);
      return { status, suppression: { ...next } };
    });
    await locks.write(client, loaded);
    return results;
  });
}

export function pgSuppressions(context: PgContext): SuppressionRepository {
  const { pool, S, run } = context;
  const locks = suppressionLocks(S);
  const lift = (account: string, email: string, options: SuppressionLiftOptions) =>
    tx(pool, async (client) => {
      const loaded = await locks.load(client, [{ account, email }]);
      const next = liftSuppression(loaded.get(loadedKey(account, email))?.value, {
        ...options,
        at: options.at ?? Date.now(),
      });
      if (next === undefined) return false;
      stage(loaded, next);
      await locks.write(client, loaded);
      return true;
    });
  const select = async (where: string, values: unknown[]): Promise<Suppression[]> =>
    (
      await q<SuppressionRow>(
        pool,
        `SELECT ${SUPPRESSION_COLUMNS} FROM ${S}.suppressions WHERE ${where}`,
        values,
      )
    ).rows.map(toSuppression);

  return {
    ...pgMandrillSync(context, locks),
    add: (input) =>
      run("suppressions.add", async () => {
        const [result] = await addMany(pool, locks, [normalizeSuppressionInput(input)]);
        return result as SuppressionAddResult;
      }),
    addMany: (inputs) =>
      run("suppressions.addMany", () =>
        addMany(
          pool,
          locks,
          inputs.map((i) => normalizeSuppressionInput(i)),
        ),
      ),
    remove: (account, email, options) =>
      run("suppressions.remove", async () => {
        requireAccountId(account);
        const e = normalizeEmail(email);
        return e === undefined ? false : lift(account, e, options);
      }),
    check: (account, emails, options = {}) =>
      run("suppressions.check", async () => {
        requireAccountId(account);
        const list = checkList(emails);
        if (list.length === 0) return [];
        // One statement whatever the number of addresses: an index probe on (account, email) each.
        return select(
          "account = $1 AND email = ANY($2::text[]) AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $3)",
          [account, list, options.now ?? Date.now()],
        );
      }),
    get: (account, email) =>
      run("suppressions.get", async () => {
        requireAccountId(account);
        const e = normalizeEmail(email);
        if (e === undefined) return undefined;
        const [found] = await select("account = $1 AND email = $2", [account, e]);
        return found;
      }),
    list: (account, query = {}) =>
      run("suppressions.list", async () => {
        requireAccountId(account);
        const limit = pageLimit(query);
        const params = new SqlParams((n) => `$${n}`);
        const after = afterKey(query);
        const where =
          suppressionWhere(params, account, query) +
          (after === null ? "" : ` AND email > ${params.add(after)}`);
        const found = await select(`${where} ORDER BY email LIMIT ${params.add(limit + 1)}`, params.values);
        return page(found, limit, (s) => [s.email]);
      }),
    count: (account, query = {}) =>
      run("suppressions.count", async () => {
        requireAccountId(account);
        const params = new SqlParams((n) => `$${n}`);
        const where = suppressionWhere(params, account, query);
        const { rows } = await q<{ n: number }>(
          pool,
          `SELECT count(*) AS n FROM ${S}.suppressions WHERE ${where}`,
          params.values,
        );
        return rows[0]?.n ?? 0;
      }),
  };
}
