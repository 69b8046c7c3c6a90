import { requireAccountId } from "./account-id.js";
import { normalizeEmail } from "./email.js";
import { MandrillKitNotFoundError, MandrillKitStoreError } from "./errors.js";
import type {
  ClaimOptions,
  CredentialPutOptions,
  CredentialRecord,
  FailOptions,
  InboxRecord,
  InboxStats,
  IngestBatch,
  IngestResult,
  Page,
  PageOptions,
  QuarantinedBatch,
  SendRecord,
  SendRecordInput,
  Store,
  Suppression,
  SuppressionAddResult,
  SuppressionInput,
  SuppressionLiftOptions,
  SuppressionQuery,
} from "./store.js";
import {
  applySuppressionEffects,
  checkCredentialWrite,
  decodeCursor,
  encodeCursor,
  inboxStatsFrom,
  liftSuppression,
  mergeSuppression,
  normalizeClaimOptions,
  normalizeInboxEvent,
  normalizeSendRecord,
  normalizeSuppressionInput,
  pageLimit,
  suppressionStatus,
} from "./store-rules.js";

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Options of {@link createMemoryStore}. None yet; the object is accepted for symmetry with other stores. */
export type MemoryStoreOptions = Record<string, never>;

/**
 * A complete in-memory {@link Store}: for tests, examples and single-process tools. Nothing survives
 * the process. Same behaviour as the SQLite and PostgreSQL stores (it passes the same contract suite).
 */
export function createMemoryStore(_options: MemoryStoreOptions = {}): Store {
  let closed = false;
  const credentials = new Map<string, CredentialRecord>();
  const suppressions = new Map<string, Map<string, Suppression>>();
  const inbox = new Map<string, InboxRecord>(); // `${account}\u0000${key}`
  const inboxBySeq: InboxRecord[] = [];
  const quarantined: QuarantinedBatch[] = [];
  const sends: SendRecord[] = [];
  let seq = 0;
  let sendSeq = 0;
  let quarantineSeq = 0;

  // Every method checks the store is open and runs synchronously, so each is atomic in one process.
  async function run<T>(fn: () => T): Promise<T> {
    if (closed) throw new MandrillKitStoreError("ERR_MK_STORE_CLOSED", "The memory store is closed.");
    return fn();
  }

  const accountSuppressions = (account: string): Map<string, Suppression> => {
    let map = suppressions.get(account);
    if (map === undefined) {
      map = new Map();
      suppressions.set(account, map);
    }
    return map;
  };

  function addOne(input: SuppressionInput): SuppressionAddResult {
    const n = normalizeSuppressionInput(input);
    const map = accountSuppressions(n.account);
    const { status, next } = mergeSuppression(map.get(n.email), n);
    map.set(n.email, next);
    return { status, suppression: clone(next) };
  }

  function liftOne(account: string, email: string, options: SuppressionLiftOptions): boolean {
    const map = suppressions.get(account);
    const next = liftSuppression(map?.get(email), { ...options, at: options.at ?? Date.now() });
    if (next === undefined) return false;
    map?.set(email, next);
    return true;
  }

  function matches(s: Suppression, query: SuppressionQuery, now: number): boolean {
    const status = query.status ?? "active";
    if (status !== "all" && suppressionStatus(s, now) !== status) return false;
    if (query.reason !== undefined && s.reason !== query.reason) return false;
    if (query.source !== undefined && s.source !== query.source) return false;
    if (query.search !== undefined && query.search !== "" && !s.email.includes(query.search.toLowerCase()))
      return false;
    return true;
  }

  function inboxKey(account: string, key: string): string {
    return `${account}\u0000${key}`;
  }

  function requireInbox(account: string, key: string): InboxRecord {
    const record = inbox.get(inboxKey(account, key));
    if (record === undefined)
      throw new MandrillKitNotFoundError(
        `No inbox event ${JSON.stringify(key)} for account ${JSON.stringify(account)}.`,
      );
    return record;
  }

  function page<T>(items: T[], limit: number, cursorOf: (item: T) => (string | number)[]): Page<T> {
    const slice = items.slice(0, limit);
    const last = slice[slice.length - 1];
    return {
      items: slice.map(clone),
      next: items.length > limit && last !== undefined ? encodeCursor(cursorOf(last)) : null,
    };
  }

  const store: Store = {
    kind: "memory",
    credentials: {
      get: (account) =>
        run(() => {
          const record = credentials.get(requireAccountId(account));
          return record === undefined ? undefined : clone(record);
        }),
      put: (account, write, options: CredentialPutOptions = {}) =>
        run(() => {
          requireAccountId(account);
          checkCredentialWrite(write);
          const existing = credentials.get(account);
          const current = existing?.version ?? 0;
          if (options.expectedVersion !== undefined && options.expectedVersion !== current) {
            throw new MandrillKitStoreError(
              "ERR_MK_STORE_CONFLICT",
              `Credentials of account ${JSON.stringify(account)} changed meanwhile (expected version ${options.expectedVersion}, found ${current}).`,
            );
          }
          const at = options.at ?? Date.now();
          const record: CredentialRecord = {
            account,
            version: current + 1,
            settings: clone(write.settings),
            secrets: { ...write.secrets },
            createdAt: existing?.createdAt ?? at,
            updatedAt: at,
          };
          credentials.set(account, record);
          return clone(record);
        }),
      delete: (account) => run(() => credentials.delete(requireAccountId(account))),
      list: (options: PageOptions = {}) =>
        run(() => {
          const limit = pageLimit(options);
          const after = options.after ? String(decodeCursor(options.after)[0]) : null;
          const items = [...credentials.values()]
            .filter((r) => after === null || r.account > after)
            .sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
          return page(items, limit, (r) => [r.account]);
        }),
    },
    suppressions: {
      add: (input) => run(() => addOne(input)),
      addMany: (inputs) =>
        run(() => {
          const normalized = inputs.map((i) => normalizeSuppressionInput(i)); // validate all before writing
          return normalized.map((n) => addOne(n));
        }),
      remove: (account, email, options) =>
        run(() => {
          const e = normalizeEmail(email);
          return e === undefined ? false : liftOne(requireAccountId(account), e, options);
        }),
      check: (account, emails, options = {}) =>
        run(() => {
          const now = options.now ?? Date.now();
          const map = suppressions.get(requireAccountId(account));
          if (map === undefined) return [];
          const out: Suppression[] = [];
          const seen = new Set<string>();
          for (const raw of emails) {
            const e = normalizeEmail(raw);
            if (e === undefined || seen.has(e)) continue;
            seen.add(e);
            const s = map.get(e);
            if (s !== undefined && suppressionStatus(s, now) === "active") out.push(clone(s));
          }
          return out;
        }),
      get: (account, email) =>
        run(() => {
          const e = normalizeEmail(email);
          const s = e === undefined ? undefined : suppressions.get(requireAccountId(account))?.get(e);
          return s === undefined ? undefined : clone(s);
        }),
      list: (account, query = {}) =>
        run(() => {
          const limit = pageLimit(query);
          const now = query.now ?? Date.now();
          const after = query.after ? String(decodeCursor(query.after)[0]) : null;
          const items = [...(suppressions.get(requireAccountId(account))?.values() ?? [])]
            .filter((s) => matches(s, query, now) && (after === null || s.email > after))
            .sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
          return page(items, limit, (s) => [s.email]);
        }),
      count: (account, query = {}) =>
        run(() => {
          const now = query.now ?? Date.now();
          let n = 0;
          for (const s of suppressions.get(requireAccountId(account))?.values() ?? [])
            if (matches(s, query, now)) n++;
          return n;
        }),
    },
    inbox: {
      ingest: (batch: IngestBatch) =>
        run((): IngestResult => {
          const account = requireAccountId(batch.account);
          const receivedAt = batch.receivedAt ?? Date.now();
          // Validate everything first: the batch is all or nothing.
          const events = batch.events.map((e) => {
            const checked = normalizeInboxEvent(e);
            return { ...checked, effects: checked.effects ?? [] };
          });
          const result: IngestResult = { inserted: [], duplicates: [], effects: [] };
          const staged = new Map<string, InboxRecord>();
          const savedSuppressions = new Map<string, Suppression | undefined>();
          const map = accountSuppressions(account);
          const stash = (email: string) => {
            if (!savedSuppressions.has(email)) savedSuppressions.set(email, map.get(email));
          };
          try {
            let nextSeq = seq;
            for (const e of events) {
              const k = inboxKey(account, e.key);
              if (inbox.has(k) || staged.has(k)) {
                result.duplicates.push(e.key);
                continue;
              }
              const record: InboxRecord = {
                seq: ++nextSeq,
                account,
                key: e.key,
                type: e.type,
                email: e.email === null ? null : (normalizeEmail(e.email) ?? null),
                messageId: e.messageId,
                eventAt: e.eventAt,
                raw: e.raw,
                receivedAt,
                state: e.state === "done" ? "done" : "pending",
                attempts: 0,
                nextAttemptAt: e.state === "done" ? null : receivedAt,
                leaseUntil: null,
                lastError: null,
                completedAt: e.state === "done" ? receivedAt : null,
              };
              staged.set(k, record);
              result.inserted.push(e.key);
              for (const effect of e.effects) stash(effect.email);
              applySuppressionEffects(
                {
                  get: (email) => map.get(email),
                  put: (next) => map.set(next.email, next),
                  countSoftBounces: (email, after, until) => {
                    let count = 0;
                    for (const r of [...inbox.values(), ...staged.values()]) {
                      const t = r.eventAt;
                      if (
                        r.account === account &&
                        r.type === "soft_bounce" &&
                        r.email === email &&
                        t !== null &&
                        t > after &&
                        t <= until
                      )
                        count++;
                    }
                    return count;
                  },
                },
                { account, key: e.key, eventAt: e.eventAt, effects: e.effects },
                receivedAt,
                result.effects,
              );
            }
            for (const [k, record] of staged) {
              inbox.set(k, record);
              inboxBySeq.push(record);
            }
            seq = nextSeq;
            return result;
          } catch (error) {
            for (const [email, s] of savedSuppressions) {
              if (s === undefined) map.delete(email);
              else map.set(email, s);
            }
            throw error;
          }
        }),
      claim: (options: ClaimOptions = {}) =>
        run(() => {
          const { now, limit, leaseMs } = normalizeClaimOptions(options);
          const out: InboxRecord[] = [];
          const due = inboxBySeq
            .filter(
              (r) =>
                r.state === "pending" &&
                (options.account === undefined || r.account === options.account) &&
                (r.nextAttemptAt ?? 0) <= now &&
                (r.leaseUntil === null || r.leaseUntil <= now),
            )
            .sort((a, b) => (a.nextAttemptAt ?? 0) - (b.nextAttemptAt ?? 0) || a.seq - b.seq);
          for (const r of due.slice(0, limit)) {
            r.leaseUntil = now + leaseMs;
            r.attempts += 1;
            out.push(clone(r));
          }
          return out;
        }),
      complete: (account, key, options = {}) =>
        run(() => {
          const r = requireInbox(account, key);
          r.state = "done";
          r.leaseUntil = null;
          r.nextAttemptAt = null;
          r.completedAt = options.now ?? Date.now();
        }),
      completeMany: (events, options = {}) =>
        run(() => {
          let changed = 0;
          for (const { account, key } of events) {
            const r = inbox.get(inboxKey(account, key));
            if (r === undefined) continue;
            r.state = "done";
            r.leaseUntil = null;
            r.nextAttemptAt = null;
            r.completedAt = options.now ?? Date.now();
            changed++;
          }
          return changed;
        }),
      fail: (account, key, options: FailOptions) =>
        run(() => {
          const r = requireInbox(account, key);
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
        run(() => {
          const r = inbox.get(inboxKey(account, key));
          if (r === undefined) return false;
          r.state = "pending";
          r.attempts = 0;
          r.nextAttemptAt = options.now ?? Date.now();
          r.leaseUntil = null;
          r.completedAt = null;
          return true;
        }),
      get: (account, key) =>
        run(() => {
          const r = inbox.get(inboxKey(account, key));
          return r === undefined ? undefined : clone(r);
        }),
      list: (account, query = {}) =>
        run(() => {
          const limit = pageLimit(query);
          const before = query.after ? Number(decodeCursor(query.after)[0]) : Number.POSITIVE_INFINITY;
          const items = inboxBySeq
            .filter(
              (r) =>
                r.account === account &&
                r.seq < before &&
                (query.state === undefined || r.state === query.state) &&
                (query.type === undefined || r.type === query.type),
            )
            .reverse();
          return page(items, limit, (r) => [r.seq]);
        }),
      stats: (account) =>
        run((): InboxStats => {
          const groups = new Map<string, { state: string; type: string; n: number; last: number | null }>();
          for (const r of inboxBySeq) {
            if (r.account !== account) continue;
            const k = `${r.state}\u0000${r.type}`;
            const g = groups.get(k) ?? { state: r.state, type: r.type, n: 0, last: null };
            g.n++;
            g.last = Math.max(g.last ?? 0, r.receivedAt);
            groups.set(k, g);
          }
          const mine = quarantined.filter((q) => q.account === account);
          return inboxStatsFrom(groups.values(), {
            n: mine.length,
            last: mine.length === 0 ? null : Math.max(...mine.map((q) => q.receivedAt)),
          });
        }),
      quarantine: (entry) =>
        run(() => {
          const id = ++quarantineSeq;
          quarantined.push({
            id,
            account: requireAccountId(entry.account),
            body: entry.body,
            error: entry.error,
            receivedAt: entry.receivedAt ?? Date.now(),
          });
          return id;
        }),
      listQuarantined: (account, options = {}) =>
        run(() => {
          const limit = pageLimit(options);
          const before = options.after ? Number(decodeCursor(options.after)[0]) : Number.POSITIVE_INFINITY;
          const items = quarantined.filter((q) => q.account === account && q.id < before).reverse();
          return page(items, limit, (q) => [q.id]);
        }),
    },
    sends: {
      record: (entries: readonly SendRecordInput[]) =>
        run(() => {
          const rows = entries.map(normalizeSendRecord);
          for (const row of rows) sends.push({ ...row, seq: ++sendSeq });
        }),
      findByMessageId: (messageId) =>
        run(() => {
          for (let i = sends.length - 1; i >= 0; i--) {
            const s = sends[i];
            if (s !== undefined && s.messageId === messageId) return clone(s);
          }
          return undefined;
        }),
      list: (account, query = {}) =>
        run(() => {
          const limit = pageLimit(query);
          const before = query.after ? Number(decodeCursor(query.after)[0]) : Number.POSITIVE_INFINITY;
          const email =
            query.email === undefined ? undefined : (normalizeEmail(query.email) ?? "\u0000invalid");
          const items = sends
            .filter(
              (s) => s.account === account && s.seq < before && (email === undefined || s.email === email),
            )
            .reverse();
          return page(items, limit, (s) => [s.seq]);
        }),
    },
    migrate: () => run(() => undefined),
    close: async () => {
      closed = true;
    },
  };
  return store;
}
