/** The in-memory store's Mandrill denylist sync (docs/design.md#mandrill-denylist-sync). */
import { requireAccountId } from "../account-id.js";
import {
  countDecision,
  decideMandrillRow,
  emptyMandrillCounts,
  keepStaged,
  type NormalizedMandrillRow,
  normalizeStage,
  requireRunId,
} from "../adapter/mandrill-sync.js";
import { afterKey, pageLimit } from "../adapter/paging.js";
import { suppressionStatus } from "../adapter/suppressions.js";
import type { DriftEntry, MandrillSyncMethods, MandrillSyncState } from "../store/mandrill-sync.js";
import { accountSuppressions, byText, clone, type MemoryRun, type MemoryState, pageOf } from "./state.js";

/** Staged runs by account, then run id, then `list:email`; and each account's applied run. */
interface SyncTables {
  runs: Map<string, Map<string, Map<string, NormalizedMandrillRow>>>;
  applied: Map<string, MandrillSyncState>;
}

const tables = new WeakMap<MemoryState, SyncTables>();

function tablesOf(state: MemoryState): SyncTables {
  let t = tables.get(state);
  if (t === undefined) {
    t = { runs: new Map(), applied: new Map() };
    tables.set(state, t);
  }
  return t;
}

function runRows(t: SyncTables, account: string, run: string): Map<string, NormalizedMandrillRow> {
  let byRun = t.runs.get(account);
  if (byRun === undefined) {
    byRun = new Map();
    t.runs.set(account, byRun);
  }
  let rows = byRun.get(run);
  if (rows === undefined) {
    rows = new Map();
    byRun.set(run, rows);
  }
  return rows;
}

/** Active denylist rows of the applied run (not allowlisted), by address. */
function mirror(t: SyncTables, account: string): Map<string, NormalizedMandrillRow> {
  const applied = t.applied.get(account);
  const rows = applied === undefined ? undefined : t.runs.get(account)?.get(applied.run);
  const out = new Map<string, NormalizedMandrillRow>();
  for (const row of rows?.values() ?? []) {
    if (row.list === "deny" && !rows?.has(`allow:${row.email}`)) out.set(row.email, row);
  }
  return out;
}

export function memoryMandrillSync(state: MemoryState, run: MemoryRun): MandrillSyncMethods {
  return {
    stageMandrillRows: (account, runId, rows) =>
      run("suppressions.stageMandrillRows", () => {
        const n = normalizeStage(account, runId, rows);
        const staged = runRows(tablesOf(state), n.account, n.run);
        for (const row of n.rows) {
          const key = `${row.list}:${row.email}`;
          staged.set(key, keepStaged(staged.get(key), row));
        }
      }),
    applyMandrillRun: (account, runId, options = {}) =>
      run("suppressions.applyMandrillRun", () => {
        requireAccountId(account);
        requireRunId(runId);
        const at = options.at ?? Date.now();
        const t = tablesOf(state);
        const staged = runRows(t, account, runId);
        const map = accountSuppressions(state, account);
        const counts = emptyMandrillCounts();
        const rows = [...staged.values()].sort((a, b) => byText(a.email, b.email) || byText(a.list, b.list));
        for (const row of rows) {
          const allowed = row.list === "deny" && staged.has(`allow:${row.email}`);
          const decision = decideMandrillRow(account, map.get(row.email), { ...row, allowed }, at);
          countDecision(counts, decision);
          if (decision.next !== undefined) map.set(row.email, decision.next);
        }
        for (const [id] of t.runs.get(account) ?? []) if (id !== runId) t.runs.get(account)?.delete(id);
        t.applied.set(account, { run: runId, syncedAt: at, counts });
        const denied = mirror(t, account);
        for (const s of map.values()) {
          if (suppressionStatus(s, at) === "active" && !denied.has(s.email)) counts.onlyLocal += 1;
        }
        return { ...counts };
      }),
    discardMandrillRun: (account, runId) =>
      run("suppressions.discardMandrillRun", () => {
        requireAccountId(account);
        requireRunId(runId);
        const t = tablesOf(state);
        if (t.applied.get(account)?.run !== runId) t.runs.get(account)?.delete(runId);
      }),
    mandrillSyncState: (account) =>
      run("suppressions.mandrillSyncState", () => {
        const applied = tablesOf(state).applied.get(requireAccountId(account));
        return applied === undefined ? undefined : clone(applied);
      }),
    drift: (account, query) =>
      run("suppressions.drift", () => {
        requireAccountId(account);
        const limit = pageLimit(query);
        const after = afterKey(query);
        const now = query.now ?? Date.now();
        const local = state.suppressions.get(account) ?? new Map();
        const denied = mirror(tablesOf(state), account);
        const items: DriftEntry[] = [];
        if (query.side === "local") {
          for (const s of local.values()) {
            if (suppressionStatus(s, now) === "active" && !denied.has(s.email)) {
              items.push({ email: s.email, side: "local", local: s, mandrill: null });
            }
          }
        } else {
          for (const row of denied.values()) {
            if (row.expiresAt !== null && row.expiresAt <= now) continue;
            const s = local.get(row.email);
            if (s !== undefined && suppressionStatus(s, now) === "active") continue;
            items.push({
              email: row.email,
              side: "mandrill",
              local: s ?? null,
              mandrill: { reason: row.reason, detail: row.detail, expiresAt: row.expiresAt },
            });
          }
        }
        const sorted = items
          .filter((d) => after === null || d.email > after)
          .sort((a, b) => byText(a.email, b.email));
        return pageOf(sorted, limit, (d) => [d.email]);
      }),
  };
}
