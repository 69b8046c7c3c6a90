/** The in-memory `inbox` repository: events, their processing state, and quarantined bodies. */
import { requireAccountId } from "../account-id.js";
import {
  applySuppressionEffects,
  claimOrder,
  distinctEvents,
  inboxNotFound,
  inboxStatsFrom,
  normalizeClaimOptions,
  normalizeCompleteUnwantedOptions,
  typeFilterMatches,
} from "../adapter/inbox.js";
import { type NormalizedInboxEvent, normalizeIngestBatch } from "../adapter/ingest-checks.js";
import { beforeSeq, pageLimit } from "../adapter/paging.js";
import type {
  ClaimOptions,
  FailOptions,
  InboxRecord,
  InboxRepository,
  IngestResult,
  Suppression,
} from "../store.js";
import { accountSuppressions, clone, inboxKey, type MemoryRun, type MemoryState, pageOf } from "./state.js";

function newRecord(seq: number, account: string, e: NormalizedInboxEvent, receivedAt: number): InboxRecord {
  const done = e.state === "done";
  return {
    seq,
    account,
    key: e.key,
    type: e.type,
    email: e.email,
    messageId: e.messageId,
    eventAt: e.eventAt,
    raw: e.raw,
    receivedAt,
    state: e.state,
    attempts: 0,
    nextAttemptAt: done ? null : receivedAt,
    leaseUntil: null,
    lastError: null,
    completedAt: done ? receivedAt : null,
  };
}

/**
 * One ingest, all or nothing: new events are staged and suppressions changed in place, remembering
 * each address's previous entry so a failure puts them back before anything is visible.
 */
function ingest(state: MemoryState, account: string, receivedAt: number, events: NormalizedInboxEvent[]) {
  const result: IngestResult = { inserted: [], duplicates: [], effects: [] };
  const staged = new Map<string, InboxRecord>();
  const saved = new Map<string, Suppression | undefined>();
  const map = accountSuppressions(state, account);
  const countSoftBounces = (email: string, after: number, until: number): number => {
    let count = 0;
    for (const r of [...state.inbox.values(), ...staged.values()]) {
      const t = r.eventAt;
      const counted = r.account === account && r.type === "soft_bounce" && r.email === email;
      if (counted && t !== null && t > after && t <= until) count++;
    }
    return count;
  };
  const target = {
    get: (email: string) => map.get(email),
    put: (next: Suppression) => map.set(next.email, next),
    countSoftBounces,
  };
  try {
    let seq = state.seq;
    for (const e of events) {
      const k = inboxKey(account, e.key);
      if (state.inbox.has(k) || staged.has(k)) {
        result.duplicates.push(e.key);
        continue;
      }
      staged.set(k, newRecord(++seq, account, e, receivedAt));
      result.inserted.push(e.key);
      for (const effect of e.effects)
        if (!saved.has(effect.email)) saved.set(effect.email, map.get(effect.email));
      applySuppressionEffects(
        target,
        { account, key: e.key, eventAt: e.eventAt, effects: e.effects },
        receivedAt,
        result.effects,
      );
    }
    for (const [k, record] of staged) {
      state.inbox.set(k, record);
      state.inboxBySeq.push(record);
    }
    state.seq = seq;
    return result;
  } catch (error) {
    for (const [email, s] of saved) {
      if (s === undefined) map.delete(email);
      else map.set(email, s);
    }
    throw error;
  }
}

/** Whether a claim at `now` may take the event: pending, due, not leased (and of the account, if one). */
function claimable(r: InboxRecord, now: number, account: string | undefined): boolean {
  return (
    r.state === "pending" &&
    (account === undefined || r.account === account) &&
    (r.nextAttemptAt ?? 0) <= now &&
    (r.leaseUntil === null || r.leaseUntil <= now)
  );
}

/** The store-wide backlog, counted over every event (the memory store has no index to ask). */
function memoryBacklog(
  events: readonly { state: string; nextAttemptAt: number | null; receivedAt: number }[],
) {
  let pending = 0;
  let dead = 0;
  let oldestDueAt: number | null = null;
  for (const r of events) {
    if (r.state === "dead") dead++;
    if (r.state !== "pending") continue;
    pending++;
    const due = r.nextAttemptAt ?? r.receivedAt;
    if (oldestDueAt === null || due < oldestDueAt) oldestDueAt = due;
  }
  return { pending, dead, oldestDueAt };
}

export function memoryInbox(state: MemoryState, run: MemoryRun): InboxRepository {
  const find = (account: string, key: string) => state.inbox.get(inboxKey(account, key));
  const require = (account: string, key: string): InboxRecord => {
    const record = find(account, key);
    if (record === undefined) throw inboxNotFound(account, key);
    return record;
  };
  const markDone = (r: InboxRecord, now: number | undefined): void => {
    r.state = "done";
    r.leaseUntil = null;
    r.nextAttemptAt = null;
    r.completedAt = now ?? Date.now();
  };

  return {
    ingest: (batch) =>
      run("inbox.ingest", () => {
        // Validate everything first: the batch is all or nothing.
        const { account, receivedAt, events } = normalizeIngestBatch(batch);
        return ingest(state, account, receivedAt, events);
      }),
    claim: (options: ClaimOptions = {}) =>
      run("inbox.claim", () => {
        const { now, limit, leaseMs, account, types } = normalizeClaimOptions(options);
        const due = state.inboxBySeq
          .filter(
            (r) => claimable(r, now, account) && (types === undefined || typeFilterMatches(types, r.type)),
          )
          .sort(claimOrder);
        return due.slice(0, limit).map((r) => {
          r.leaseUntil = now + leaseMs;
          r.attempts += 1;
          return clone(r);
        });
      }),
    complete: (account, key, options = {}) =>
      run("inbox.complete", () => markDone(require(account, key), options.now)),
    completeMany: (events, options = {}) =>
      run("inbox.completeMany", () => {
        let changed = 0;
        for (const { account, key } of distinctEvents(events)) {
          const r = find(account, key);
          if (r === undefined) continue;
          markDone(r, options.now);
          changed++;
        }
        return changed;
      }),
    completeUnwanted: (options) =>
      run("inbox.completeUnwanted", () => {
        const { wanted, limit, now, account } = normalizeCompleteUnwantedOptions(options);
        const unwanted = state.inboxBySeq
          .filter((r) => claimable(r, now, account) && !typeFilterMatches(wanted, r.type))
          .sort(claimOrder)
          .slice(0, limit);
        for (const r of unwanted) markDone(r, now);
        return unwanted.length;
      }),
    fail: (account, key, options: FailOptions) =>
      run("inbox.fail", () => {
        const r = require(account, key);
        r.lastError = options.error.slice(0, 2000);
        r.leaseUntil = null;
        if (options.retryAt === null) {
          r.state = "dead";
          r.nextAttemptAt = null;
          r.completedAt = options.now ?? Date.now();
        } else {
          r.state = "pending";
          r.nextAttemptAt = options.retryAt;
        }
      }),
    replay: (account, key, options = {}) =>
      run("inbox.replay", () => {
        const r = find(account, key);
        if (r === undefined) return false;
        r.state = "pending";
        r.attempts = 0;
        r.nextAttemptAt = options.now ?? Date.now();
        r.leaseUntil = null;
        r.completedAt = null;
        return true;
      }),
    get: (account, key) =>
      run("inbox.get", () => {
        const r = find(account, key);
        return r === undefined ? undefined : clone(r);
      }),
    list: (account, query = {}) =>
      run("inbox.list", () => {
        const limit = pageLimit(query);
        const before = beforeSeq(query);
        const items = state.inboxBySeq
          .filter(
            (r) =>
              r.account === account &&
              r.seq < before &&
              (query.state === undefined || r.state === query.state) &&
              (query.type === undefined || r.type === query.type),
          )
          .reverse();
        return pageOf(items, limit, (r) => [r.seq]);
      }),
    stats: (account) =>
      run("inbox.stats", () => {
        const groups = new Map<string, { state: string; type: string; n: number; last: number | null }>();
        for (const r of state.inboxBySeq) {
          if (r.account !== account) continue;
          const k = `${r.state}\u0000${r.type}`;
          const g = groups.get(k) ?? { state: r.state, type: r.type, n: 0, last: null };
          g.n++;
          g.last = Math.max(g.last ?? 0, r.receivedAt);
          groups.set(k, g);
        }
        const mine = state.quarantined.filter((q) => q.account === account);
        return inboxStatsFrom(groups.values(), {
          n: mine.length,
          last: mine.length === 0 ? null : Math.max(...mine.map((q) => q.receivedAt)),
        });
      }),
    quarantine: (entry) =>
      run("inbox.quarantine", () => {
        const id = ++state.quarantineSeq;
        state.quarantined.push({
          id,
          account: requireAccountId(entry.account),
          body: entry.body,
          error: entry.error,
          receivedAt: entry.receivedAt ?? Date.now(),
        });
        return id;
      }),
    listQuarantined: (account, options = {}) =>
      run("inbox.listQuarantined", () => {
        const limit = pageLimit(options);
        const before = beforeSeq(options);
        const items = state.quarantined.filter((q) => q.account === account && q.id < before).reverse();
        return pageOf(items, limit, (q) => [q.id]);
      }),
    backlog: () => run("inbox.backlog", () => memoryBacklog(state.inboxBySeq)),
  };
}
