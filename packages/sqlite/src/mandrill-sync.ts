/** The SQLite store's Mandrill denylist sync (docs/design.md#mandrill-denylist-sync). */
import {
  type DriftEntry,
  type MandrillSyncCounts,
  type MandrillSyncMethods,
  requireAccountId,
  type Suppression,
} from "@mandrill-kit/core";
import {
  afterKey,
  countDecision,
  decideMandrillRow,
  emptyMandrillCounts,
  keepStaged,
  MANDRILL_APPLY_PAGE,
  type MandrillRowRow,
  mandrillDrift,
  mandrillSyncSql,
  type NormalizedMandrillRow,
  normalizeStage,
  page,
  pageLimit,
  requireRunId,
  type SuppressionRow,
  stagedValues,
  toStagedRow,
  toSuppression,
  toSyncState,
} from "@mandrill-kit/core/adapter";
import type { SqliteContext } from "./connection.js";
import type { SuppressionRows } from "./suppressions.js";

const SQL = mandrillSyncSql("", (n) => `@p${n}`);
/** Staged rows per INSERT (8 parameters each, well under SQLite's limit). */
const STAGE_CHUNK = 500;

/** `{ p1: a, p2: b, … }` for the `@pN` placeholders. */
function params(...values: unknown[]): Record<string, unknown> {
  return Object.fromEntries(values.map((v, i) => [`p${i + 1}`, v]));
}

export function sqliteMandrillSync({ db, run }: SqliteContext, rows: SuppressionRows): MandrillSyncMethods {
  const pageStmt = db.prepare<[Record<string, unknown>], MandrillRowRow>(SQL.page);
  const onlyLocalCount = db.prepare<[Record<string, unknown>], { n: number }>(SQL.countOnlyLocal);
  const stageStmts = new Map<number, ReturnType<typeof db.prepare>>();
  const stageStmt = (n: number) => {
    let stmt = stageStmts.get(n);
    if (stmt === undefined) {
      stmt = db.prepare(SQL.stage(n));
      stageStmts.set(n, stmt);
    }
    return stmt;
  };

  const stageTx = db.transaction((account: string, runId: string, list: NormalizedMandrillRow[]) => {
    for (let i = 0; i < list.length; i += STAGE_CHUNK) {
      const chunk = list.slice(i, i + STAGE_CHUNK);
      stageStmt(chunk.length).run(params(...chunk.flatMap((r) => stagedValues(account, runId, r))));
    }
  });

  const applyTx = db.transaction((account: string, runId: string, at: number): MandrillSyncCounts => {
    const counts = emptyMandrillCounts();
    let after: [string, string] = ["", ""];
    for (;;) {
      const staged = pageStmt.all(params(account, runId, after[0], after[1], MANDRILL_APPLY_PAGE));
      for (const raw of staged) {
        const row = toStagedRow(raw);
        const decision = decideMandrillRow(account, rows.get(account, row.email), row, at);
        countDecision(counts, decision);
        if (decision.next !== undefined) rows.put(decision.next);
      }
      const last = staged[staged.length - 1];
      if (last === undefined || staged.length < MANDRILL_APPLY_PAGE) break;
      after = [last.email, last.list];
    }
    db.prepare(SQL.dropOtherRuns).run(params(account, runId));
    counts.onlyLocal = (onlyLocalCount.get(params(account, runId, at)) as { n: number }).n;
    db.prepare(SQL.saveState).run(params(account, runId, at, JSON.stringify(counts)));
    return counts;
  });

  return {
    stageMandrillRows: (account, runId, list) =>
      run("suppressions.stageMandrillRows", () => {
        const n = normalizeStage(account, runId, list);
        // One row per list and address in a statement: ON CONFLICT cannot update a row twice.
        const unique = new Map<string, NormalizedMandrillRow>();
        for (const row of n.rows) {
          const key = `${row.list}:${row.email}`;
          unique.set(key, keepStaged(unique.get(key), row));
        }
        stageTx.immediate(n.account, n.run, [...unique.values()]);
      }),
    applyMandrillRun: (account, runId, options = {}) =>
      run("suppressions.applyMandrillRun", () =>
        applyTx.immediate(requireAccountId(account), requireRunId(runId), options.at ?? Date.now()),
      ),
    discardMandrillRun: (account, runId) =>
      run("suppressions.discardMandrillRun", () => {
        db.prepare(SQL.discard).run(params(requireAccountId(account), requireRunId(runId)));
      }),
    mandrillSyncState: (account) =>
      run("suppressions.mandrillSyncState", () => {
        const row = db
          .prepare<[Record<string, unknown>], { run: string; synced_at: number; counts: string }>(
            SQL.readState,
          )
          .get(params(requireAccountId(account)));
        return row === undefined ? undefined : toSyncState(row);
      }),
    drift: (account, query) =>
      run("suppressions.drift", () => {
        requireAccountId(account);
        const limit = pageLimit(query);
        const after = afterKey(query) ?? "";
        const now = query.now ?? Date.now();
        const state = db
          .prepare<[Record<string, unknown>], { run: string }>(SQL.readState)
          .get(params(account));
        const runId = state?.run ?? "";
        let items: DriftEntry[];
        if (query.side === "local") {
          items = db
            .prepare<[Record<string, unknown>], SuppressionRow>(SQL.listOnlyLocal)
            .all(params(account, runId, now, after, limit + 1))
            .map((r) => ({ email: r.email, side: "local", local: toSuppression(r), mandrill: null }));
        } else {
          items = db
            .prepare<[Record<string, unknown>], MandrillRowRow>(SQL.listOnlyMandrill)
            .all(params(account, runId, now, after, limit + 1))
            .map((r) => mandrillDrift(r, rows.get(account, r.email) as Suppression | undefined));
        }
        return page(items, limit, (d) => [d.email]);
      }),
  };
}
