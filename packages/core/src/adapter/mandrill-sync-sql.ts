/**
 * The SQL of the Mandrill denylist sync, shared by the SQLite and PostgreSQL stores. `t` prefixes
 * table names (`""` or `schema.`); `p(n)` is the placeholder of the n-th parameter (`?n` or `$n`).
 * Tables: `mandrill_rows` (staged runs; the applied run is the account's mirror of Mandrill's lists)
 * and `mandrill_sync_runs` (each account's applied run).
 */
import type { DriftEntry, MandrillSyncCounts, MandrillSyncState } from "../store/mandrill-sync.js";
import type { Suppression, SuppressionReason } from "../store/suppressions.js";
import type { NormalizedMandrillRow, StagedMandrillRow } from "./mandrill-sync.js";

/** A `mandrill_rows` row as the apply and drift queries read it. */
export interface MandrillRowRow {
  list: string;
  email: string;
  reason: string;
  detail: string | null;
  expires_at: number | null;
  changed_at: number;
  allowed?: number | boolean;
}

/** A staged row as the apply reads it. */
export function toStagedRow(row: MandrillRowRow): StagedMandrillRow {
  return {
    list: row.list === "allow" ? "allow" : "deny",
    email: row.email,
    reason: row.reason as SuppressionReason,
    detail: row.detail,
    expiresAt: row.expires_at,
    changedAt: row.changed_at,
    allowed: row.allowed === true || row.allowed === 1,
  };
}

/** The values of one staged row, in the order of {@link MandrillSyncSql.stage}'s columns. */
export function stagedValues(account: string, run: string, r: NormalizedMandrillRow): unknown[] {
  return [account, run, r.list, r.email, r.reason, r.detail, r.expiresAt, r.changedAt];
}

/** The SQL texts. */
export interface MandrillSyncSql {
  /** Insert of `rows` staged rows (8 parameters each), keeping the longer-lasting denylist row. */
  stage(rows: number): string;
  /** A page of a run after (email, list) = (p3, p4), with `allowed`; p1 account, p2 run, p5 limit. */
  page: string;
  /** Active local entries (at p3) not on the denylist of run p2 of account p1: `n`. */
  countOnlyLocal: string;
  /** Page of them after address p4, p5 rows. */
  listOnlyLocal: string;
  /** Denylist rows of run p2 (not allowlisted, active at p3) without an active local entry, after p4, p5 rows. */
  listOnlyMandrill: string;
  /** Deletes every run of account p1 but run p2. */
  dropOtherRuns: string;
  /** Deletes run p2 of account p1 unless it is the applied one. */
  discard: string;
  /** Upsert of account p1's applied run: run p2, synced_at p3, counts p4 (JSON). */
  saveState: string;
  /** The applied run of account p1. */
  readState: string;
}

export function mandrillSyncSql(t: string, p: (n: number) => string): MandrillSyncSql {
  const R = `${t}mandrill_rows`;
  const S = `${t}suppressions`;
  // IN / NOT IN over one subquery each (hashed once per statement), never a correlated NOT EXISTS:
  // PostgreSQL plans those as nested scans on freshly filled tables it has no statistics for.
  const allowed = `SELECT a.email FROM ${R} a WHERE a.account = ${p(1)} AND a.run = ${p(2)} AND a.list = 'allow'`;
  const active = (s: string, now: string) =>
    `${s}.lifted_at IS NULL AND (${s}.expires_at IS NULL OR ${s}.expires_at > ${now})`;
  const onlyLocal = `FROM ${S} s WHERE s.account = ${p(1)} AND ${active("s", p(3))}
      AND s.email NOT IN (SELECT r.email FROM ${R} r WHERE r.account = ${p(1)} AND r.run = ${p(2)}
        AND r.list = 'deny' AND r.email NOT IN (${allowed}))`;
  return {
    stage(rows) {
      const values = Array.from(
        { length: rows },
        (_, i) => `(${Array.from({ length: 8 }, (_, j) => p(i * 8 + j + 1)).join(", ")})`,
      );
      return `INSERT INTO ${R} AS m (account, run, list, email, reason, detail, expires_at, changed_at)
        VALUES ${values.join(", ")}
        ON CONFLICT (account, run, email, list) DO UPDATE SET reason = excluded.reason, detail = excluded.detail,
          expires_at = excluded.expires_at, changed_at = excluded.changed_at
        WHERE m.list = 'deny' AND m.expires_at IS NOT NULL
          AND (excluded.expires_at IS NULL OR excluded.expires_at > m.expires_at)`;
    },
    page: `SELECT r.list, r.email, r.reason, r.detail, r.expires_at, r.changed_at,
        CASE WHEN r.list = 'deny' AND r.email IN (${allowed}) THEN 1 ELSE 0 END AS allowed
      FROM ${R} r WHERE r.account = ${p(1)} AND r.run = ${p(2)} AND (r.email, r.list) > (${p(3)}, ${p(4)})
      ORDER BY r.email, r.list LIMIT ${p(5)}`,
    countOnlyLocal: `SELECT count(*) AS n ${onlyLocal}`,
    listOnlyLocal: `SELECT s.* ${onlyLocal} AND s.email > ${p(4)} ORDER BY s.email LIMIT ${p(5)}`,
    listOnlyMandrill: `SELECT r.list, r.email, r.reason, r.detail, r.expires_at, r.changed_at FROM ${R} r
      WHERE r.account = ${p(1)} AND r.run = ${p(2)} AND r.list = 'deny' AND r.email NOT IN (${allowed})
        AND (r.expires_at IS NULL OR r.expires_at > ${p(3)}) AND r.email > ${p(4)}
        AND r.email NOT IN (SELECT s.email FROM ${S} s WHERE s.account = ${p(1)} AND ${active("s", p(3))})
      ORDER BY r.email LIMIT ${p(5)}`,
    dropOtherRuns: `DELETE FROM ${R} WHERE account = ${p(1)} AND run <> ${p(2)}`,
    discard: `DELETE FROM ${R} WHERE account = ${p(1)} AND run = ${p(2)}
      AND NOT EXISTS (SELECT 1 FROM ${t}mandrill_sync_runs x WHERE x.account = ${p(1)} AND x.run = ${p(2)})`,
    saveState: `INSERT INTO ${t}mandrill_sync_runs (account, run, synced_at, counts) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)})
      ON CONFLICT (account) DO UPDATE SET run = excluded.run, synced_at = excluded.synced_at, counts = excluded.counts`,
    readState: `SELECT run, synced_at, counts FROM ${t}mandrill_sync_runs WHERE account = ${p(1)}`,
  };
}

/** A `mandrill_sync_runs` row as a {@link MandrillSyncState}. */
export function toSyncState(row: { run: string; synced_at: number; counts: string }): MandrillSyncState {
  return { run: row.run, syncedAt: row.synced_at, counts: JSON.parse(row.counts) as MandrillSyncCounts };
}

/** A drift entry of side `mandrill` from its row and the local entry (if any). */
export function mandrillDrift(row: MandrillRowRow, local: Suppression | undefined): DriftEntry {
  return {
    email: row.email,
    side: "mandrill",
    local: local ?? null,
    mandrill: { reason: row.reason as SuppressionReason, detail: row.detail, expiresAt: row.expires_at },
  };
}
