/** The in-memory `suppressions` repository. */
import { requireAccountId } from "../account-id.js";
import { afterKey, pageLimit } from "../adapter/paging.js";
import {
  checkList,
  liftSuppression,
  matchesSuppressionQuery,
  mergeSuppression,
  normalizeSuppressionInput,
  suppressionStatus,
} from "../adapter/suppressions.js";
import { normalizeEmail } from "../email.js";
import type { Suppression, SuppressionAddResult, SuppressionInput, SuppressionRepository } from "../store.js";
import { memoryMandrillSync } from "./mandrill-sync.js";
import { accountSuppressions, byText, clone, type MemoryRun, type MemoryState, pageOf } from "./state.js";

export function memorySuppressions(state: MemoryState, run: MemoryRun): SuppressionRepository {
  function addOne(input: SuppressionInput): SuppressionAddResult {
    const n = normalizeSuppressionInput(input);
    const map = accountSuppressions(state, n.account);
    const { status, next } = mergeSuppression(map.get(n.email), n);
    map.set(n.email, next);
    return { status, suppression: clone(next) };
  }

  const entries = (account: string): Iterable<Suppression> =>
    state.suppressions.get(requireAccountId(account))?.values() ?? [];

  return {
    ...memoryMandrillSync(state, run),
    add: (input) => run("suppressions.add", () => addOne(input)),
    addMany: (inputs) =>
      run("suppressions.addMany", () => {
        const normalized = inputs.map((i) => normalizeSuppressionInput(i)); // validate all before writing
        return normalized.map((n) => addOne(n));
      }),
    remove: (account, email, options) =>
      run("suppressions.remove", () => {
        requireAccountId(account);
        const e = normalizeEmail(email);
        const map = state.suppressions.get(account);
        if (e === undefined || map === undefined) return false;
        const next = liftSuppression(map.get(e), { ...options, at: options.at ?? Date.now() });
        if (next === undefined) return false;
        map.set(e, next);
        return true;
      }),
    check: (account, emails, options = {}) =>
      run("suppressions.check", () => {
        const now = options.now ?? Date.now();
        const map = state.suppressions.get(requireAccountId(account));
        if (map === undefined) return [];
        const out: Suppression[] = [];
        for (const e of checkList(emails)) {
          const s = map.get(e);
          if (s !== undefined && suppressionStatus(s, now) === "active") out.push(clone(s));
        }
        return out;
      }),
    get: (account, email) =>
      run("suppressions.get", () => {
        const e = normalizeEmail(email);
        const s = e === undefined ? undefined : state.suppressions.get(requireAccountId(account))?.get(e);
        return s === undefined ? undefined : clone(s);
      }),
    list: (account, query = {}) =>
      run("suppressions.list", () => {
        const limit = pageLimit(query);
        const now = query.now ?? Date.now();
        const after = afterKey(query);
        const items = [...entries(account)]
          .filter((s) => matchesSuppressionQuery(s, query, now) && (after === null || s.email > after))
          .sort((a, b) => byText(a.email, b.email));
        return pageOf(items, limit, (s) => [s.email]);
      }),
    count: (account, query = {}) =>
      run("suppressions.count", () => {
        const now = query.now ?? Date.now();
        let n = 0;
        for (const s of entries(account)) if (matchesSuppressionQuery(s, query, now)) n++;
        return n;
      }),
  };
}
