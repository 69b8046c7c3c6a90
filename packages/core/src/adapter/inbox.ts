import { requireAccountId } from "../account-id.js";
import { MandrillKitNotFoundError } from "../errors.js";
import type {
  AppliedEffect,
  CompleteUnwantedOptions,
  InboxRecord,
  InboxState,
  InboxStats,
  QuarantinedBatch,
  Suppression,
  SuppressionEffect,
} from "../store.js";
import { MAX_PAGE_LIMIT } from "./paging.js";
import type { SqlParams } from "./sql.js";
import { liftSuppression, mergeSuppression, type NormalizedSuppressionInput } from "./suppressions.js";
import { invalid, requireTime } from "./validate.js";

/**
 * A set of event types as stores match it: `exact` types, and `unknown` (when listed) also matching
 * every stored `unknown:<name>` — the way a dispatcher's handler for `unknown` receives them.
 */
export interface TypeFilter {
  exact: string[];
  /** `unknown` was listed: every type starting with `unknown:` matches too. */
  unknownPrefix: boolean;
}

/** Whether a stored event type is in the filter. */
export function typeFilterMatches(filter: TypeFilter, type: string): boolean {
  return filter.exact.includes(type) || (filter.unknownPrefix && type.startsWith("unknown:"));
}

function normalizeTypes(types: readonly string[] | undefined, field: string): TypeFilter | undefined {
  if (types === undefined) return undefined;
  if (
    !Array.isArray(types) ||
    types.length === 0 ||
    types.length > 256 ||
    !types.every((t) => typeof t === "string" && t.length > 0 && t.length <= 128)
  ) {
    throw invalid(
      field,
      "must be 1–256 event types (strings of 1–128 characters)",
      `${field} must be a list of 1–256 event types (strings of 1–128 characters).`,
    );
  }
  const exact = [...new Set(types)];
  return { exact, unknownPrefix: exact.includes("unknown") };
}

/** Checked claim options with defaults applied (limit 1…1000, default 50; lease default 30 s). */
export function normalizeClaimOptions(options: {
  limit?: number;
  leaseMs?: number;
  now?: number;
  account?: string;
  types?: readonly string[];
}): {
  limit: number;
  leaseMs: number;
  now: number;
  account: string | undefined;
  types: TypeFilter | undefined;
} {
  const limit = options.limit ?? 50;
  const leaseMs = options.leaseMs ?? 30_000;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw invalid(
      "limit",
      `must be an integer from 1 to ${MAX_PAGE_LIMIT}`,
      `claim limit must be an integer from 1 to ${MAX_PAGE_LIMIT}; received ${String(limit)}.`,
    );
  }
  if (!Number.isInteger(leaseMs) || leaseMs < 1) {
    throw invalid(
      "leaseMs",
      "must be a positive integer",
      `claim leaseMs must be a positive integer; received ${String(leaseMs)}.`,
    );
  }
  return {
    limit,
    leaseMs,
    now: options.now === undefined ? Date.now() : requireTime(options.now, "now"),
    account: options.account === undefined ? undefined : requireAccountId(options.account),
    types: normalizeTypes(options.types, "types"),
  };
}

/** Checked `completeUnwanted` options (at least one wanted type; limit 1…10,000, default 5,000). */
export function normalizeCompleteUnwantedOptions(options: CompleteUnwantedOptions): {
  wanted: TypeFilter;
  limit: number;
  now: number;
  account: string | undefined;
} {
  const limit = options.limit ?? 5000;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw invalid(
      "limit",
      "must be an integer from 1 to 10000",
      `completeUnwanted limit must be an integer from 1 to 10000; received ${String(limit)}.`,
    );
  }
  return {
    // Never empty: "no type wanted" would complete every pending event.
    wanted: normalizeTypes(options.wanted ?? [], "wanted") as TypeFilter,
    limit,
    now: options.now === undefined ? Date.now() : requireTime(options.now, "now"),
    account: options.account === undefined ? undefined : requireAccountId(options.account),
  };
}

/** The order claims hand events out in: due first, then arrival. */
export function claimOrder(a: InboxRecord, b: InboxRecord): number {
  return (a.nextAttemptAt ?? 0) - (b.nextAttemptAt ?? 0) || a.seq - b.seq;
}

/**
 * The events of a `completeMany` call, each once (first occurrence kept): the call resolves with how
 * many events changed, so an event named twice counts once.
 */
export function distinctEvents<T extends { account: string; key: string }>(events: readonly T[]): T[] {
  const seen = new Set<string>();
  return events.filter((e) => {
    const id = `${e.account}\u0000${e.key}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** `ERR_MK_NOT_FOUND` for an event that `complete`/`fail` were asked about but that does not exist. */
export function inboxNotFound(account: string, key: string): MandrillKitNotFoundError {
  return new MandrillKitNotFoundError(
    `No inbox event ${JSON.stringify(key)} for account ${JSON.stringify(account)}.`,
  );
}

/**
 * What a store provides to {@link applySuppressionEffects}, inside its ingest transaction: read and
 * write one account's suppressions, and count stored soft bounces (the current event included).
 */
export interface SuppressionEffectTarget {
  get(email: string): Suppression | undefined;
  put(next: Suppression): void;
  /** Stored `soft_bounce` events of the address with `after < eventAt <= until`. */
  countSoftBounces(email: string, after: number, until: number): number;
}

/**
 * Applies one new event's (already normalised) effects through `target`, appending what changed to
 * `applied`. Shared by every store so their ingest semantics cannot drift apart.
 */
export function applySuppressionEffects(
  target: SuppressionEffectTarget,
  event: { account: string; key: string; eventAt: number | null; effects: readonly SuppressionEffect[] },
  receivedAt: number,
  applied: AppliedEffect[],
): void {
  const at = event.eventAt ?? receivedAt;
  for (const effect of event.effects) {
    if (effect.op === "lift") {
      const next = liftSuppression(target.get(effect.email), { ...effect, at: receivedAt });
      if (next !== undefined) {
        target.put(next);
        applied.push({ key: event.key, op: "lifted", email: effect.email, reason: null });
      }
      continue;
    }
    let input: NormalizedSuppressionInput;
    if (effect.op === "soft-bounce") {
      if (target.countSoftBounces(effect.email, at - effect.windowMs, at) < effect.threshold) continue;
      input = {
        account: event.account,
        email: effect.email,
        reason: "soft-bounce",
        source: "webhook",
        detail: effect.detail,
        expiresAt: at + effect.suppressForMs,
        at: receivedAt,
      };
    } else {
      input = {
        account: event.account,
        email: effect.email,
        reason: effect.reason,
        source: effect.source,
        detail: effect.detail,
        expiresAt: effect.expiresAt,
        at: receivedAt,
      };
    }
    const { status, next } = mergeSuppression(target.get(effect.email), input);
    if (status === "unchanged") continue;
    target.put(next);
    applied.push({
      key: event.key,
      op: status === "added" ? "suppressed" : "extended",
      email: effect.email,
      reason: input.reason,
    });
  }
}

/** Builds inbox stats from per (state, type) counts and the quarantine count. */
export function inboxStatsFrom(
  groups: Iterable<{ state: string; type: string; n: number; last: number | null }>,
  quarantine: { n: number; last: number | null },
): InboxStats {
  const stats: InboxStats = {
    total: 0,
    pending: 0,
    done: 0,
    dead: 0,
    quarantined: quarantine.n,
    lastReceivedAt: null,
    byType: {},
  };
  const seen = (at: number | null) => {
    if (at !== null) stats.lastReceivedAt = Math.max(stats.lastReceivedAt ?? 0, at);
  };
  for (const g of groups) {
    stats.total += g.n;
    stats[g.state as InboxState] += g.n;
    stats.byType[g.type] = (stats.byType[g.type] ?? 0) + g.n;
    seen(g.last);
  }
  seen(quarantine.last);
  return stats;
}

/**
 * The `WHERE` condition of `inbox.list` on the `inbox` table: one account, below the cursor's
 * sequence number, optionally one state and one type (parameters added to `params`).
 */
export function inboxWhere(
  params: SqlParams,
  account: string,
  before: number,
  query: { state?: InboxState; type?: string },
): string {
  const clauses = [`account = ${params.add(account)}`, `seq < ${params.add(before)}`];
  if (query.state !== undefined) clauses.push(`state = ${params.add(query.state)}`);
  if (query.type !== undefined) clauses.push(`type = ${params.add(query.type)}`);
  return clauses.join(" AND ");
}

/** An `inbox` row. */
export interface InboxRow {
  seq: number;
  account: string;
  key: string;
  type: string;
  email: string | null;
  message_id: string | null;
  event_at: number | null;
  raw: string;
  received_at: number;
  state: string;
  attempts: number;
  next_attempt_at: number | null;
  lease_until: number | null;
  last_error: string | null;
  completed_at: number | null;
}

/** An `inbox` row as an {@link InboxRecord}. */
export function toInbox(row: InboxRow): InboxRecord {
  return {
    seq: row.seq,
    account: row.account,
    key: row.key,
    type: row.type,
    email: row.email,
    messageId: row.message_id,
    eventAt: row.event_at,
    raw: row.raw,
    receivedAt: row.received_at,
    state: row.state as InboxState,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    leaseUntil: row.lease_until,
    lastError: row.last_error,
    completedAt: row.completed_at,
  };
}

/** A `quarantine` row. */
export interface QuarantineRow {
  id: number;
  account: string;
  received_at: number;
  body: string;
  error: string;
}

/** A `quarantine` row as a {@link QuarantinedBatch}. */
export function toQuarantined(row: QuarantineRow): QuarantinedBatch {
  return { id: row.id, account: row.account, receivedAt: row.received_at, body: row.body, error: row.error };
}
