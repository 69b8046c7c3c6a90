/** The PostgreSQL store's Mandrill denylist sync (docs/design.md#mandrill-denylist-sync). */
import {
  type DriftEntry,
  type MandrillSyncCounts,
  type MandrillSyncMethods,
  requireAccountId,
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
  SUPPRESSION_COLUMNS,
  type SuppressionRow,
  stagedValues,
  toStagedRow,
  toSuppression,
  toSyncState,
} from "@mandrill-kit/core/adapter";
import type { PgContext } from "./connection.js";
import { q, tx } from "./queries.js";
import { loadedKey, type SuppressionLocks, stage } from "./suppressions.js";

/** Staged rows per INSERT (8 parameters each; PostgreSQL allows 65,535). */
const STAGE_CHUNK = 1000;

export function pgMandrillSync({ pool, S, run }: PgContext, locks: SuppressionLocks): MandrillSyncMethods {
  const SQL = mandrillSyncSql(`${S}.`, (n) => `$${n}`);
  const readState = async (account: string) =>
    (await q<{ run: string; synced_at: number; counts: string }>(pool, SQL.readState, [account])).rows[0];

  return {
    stageMandrillRows: (account, runId, list) =>
      run("suppressions.stageMandrillRows", async () => {
        const n = normalizeStage(account, runId, list);
        const unique = new Map<string, NormalizedMandrillRow>();
        for (const row of n.rows) {
          const key = `${row.list}:${row.email}`;
          unique.set(key, keepStaged(unique.get(key), row));
        }
        const rows = [...unique.values()];
        await tx(pool, async (client) => {
          for (let i = 0; i < rows.length; i += STAGE_CHUNK) {
            const chunk = rows.slice(i, i + STAGE_CHUNK);
            await q(
              client,
              SQL.stage(chunk.length),
              chunk.flatMap((r) => stagedValues(n.account, n.run, r)),
            );
          }
        });
      }),
    applyMandrillRun: (account, runId, options = {}) =>
      run("suppressions.applyMandrillRun", () => {
        requireAccountId(account);
        requireRunId(runId);
        const at = options.at ?? Date.now();
        return tx(pool, async (client): Promise<MandrillSyncCounts> => {
          const counts = emptyMandrillCounts();
          let after: [string, string] = ["", ""];
          for (;;) {
            const { rows: staged } = await q<MandrillRowRow>(client, SQL.page, [
              account,
              runId,
              after[0],
              after[1],
              MANDRILL_APPLY_PAGE,
            ]);
            const loaded = await locks.load(
              client,
              staged.map((r) => ({ account, email: r.email })),
            );
            for (const raw of staged) {
              const row = toStagedRow(raw);
              const decision = decideMandrillRow(
                account,
                loaded.get(loadedKey(account, row.email))?.value,
                row,
                at,
              );
              countDecision(counts, decision);
              if (decision.next !== undefined) stage(loaded, decision.next);
            }
            await locks.write(client, loaded);
            const last = staged[staged.length - 1];
            if (last === undefined || staged.length < MANDRILL_APPLY_PAGE) break;
            after = [last.email, last.list];
          }
          await q(client, SQL.dropOtherRuns, [account, runId]);
          const { rows } = await q<{ n: number }>(client, SQL.countOnlyLocal, [account, runId, at]);
          counts.onlyLocal = rows[0]?.n ?? 0;
          await q(client, SQL.saveState, [account, runId, at, JSON.stringify(counts)]);
          return counts;
        });
      }),
    discardMandrillRun: (account, runId) =>
      run("suppressions.discardMandrillRun", async () => {
        await q(pool, SQL.discard, [requireAccountId(account), requireRunId(runId)]);
      }),
    mandrillSyncState: (account) =>
      run("suppressions.mandrillSyncState", async () => {
        const row = await readState(requireAccountId(account));
        return row === undefined ? undefined : toSyncState(row);
      }),
    drift: (account, query) =>
      run("suppressions.drift", async () => {
        requireAccountId(account);
        const limit = pageLimit(query);
        const after = afterKey(query) ?? "";
        const now = query.now ?? Date.now();
        const runId = (await readState(account))?.run ?? "";
        const values = [account, runId, now, after, limit + 1];
        let items: DriftEntry[];
        if (query.side === "local") {
          const { rows } = await q<SuppressionRow>(pool, SQL.listOnlyLocal, values);
          items = rows.map((r) => ({
            email: r.email,
            side: "local",
            local: toSuppression(r),
            mandrill: null,
          }));
        } else {
          const { rows } = await q<MandrillRowRow>(pool, SQL.listOnlyMandrill, values);
          const { rows: locals } = await q<SuppressionRow>(
            pool,
            `SELECT ${SUPPRESSION_COLUMNS} FROM ${S}.suppressions WHERE account = $1 AND email = ANY($2::text[])`,
            [account, rows.map((r) => r.email)],
          );
          const byEmail = new Map(locals.map((r) => [r.email, toSuppression(r)]));
          items = rows.map((r) => mandrillDrift(r, byEmail.get(r.email)));
        }
        return page(items, limit, (d) => [d.email]);
      }),
  };
}
