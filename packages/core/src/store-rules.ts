/**
 * Rules every store adapter shares, so memory, SQLite and PostgreSQL behave the same: input checks,
 * the "keep the longest-lasting suppression" merge, status at a time, paging limits.
 */
import { requireAccountId } from "./account-id.js";
import { normalizeEmail, requireEmail } from "./email.js";
import { MandrillKitValidationError } from "./errors.js";
import {
  type AppliedEffect,
  type CredentialWrite,
  type InboxEventInput,
  type InboxState,
  type InboxStats,
  type PageOptions,
  type SendRecordInput,
  SUPPRESSION_REASONS,
  SUPPRESSION_SOURCES,
  type Suppression,
  type SuppressionAddStatus,
  type SuppressionEffect,
  type SuppressionInput,
  type SuppressionReason,
  type SuppressionSource,
  type SuppressionStatus,
} from "./store.js";

/** Default and maximum page sizes. */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

/** Clamps a requested page size to 1…{@link MAX_PAGE_LIMIT}. */
export function pageLimit(options?: PageOptions): number {
  const limit = options?.limit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      `limit must be a positive integer; received ${String(limit)}.`,
      [{ field: "limit", message: "must be a positive integer" }],
    );
  }
  return Math.min(limit, MAX_PAGE_LIMIT);
}

function requireEnum<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw new MandrillKitValidationError(
    "ERR_MK_VALIDATION_FAILED",
    `${field} must be one of ${allowed.join(", ")}; received ${JSON.stringify(value)}.`,
    [{ field, message: `must be one of ${allowed.join(", ")}` }],
  );
}

function requireTime(value: unknown, field: string): number {
  if (typeof value === "number" && Number.isFinite(value)) return Math.trunc(value);
  throw new MandrillKitValidationError(
    "ERR_MK_VALIDATION_FAILED",
    `${field} must be a finite epoch-ms number; received ${String(value)}.`,
    [{ field, message: "must be epoch milliseconds" }],
  );
}

/** A checked, normalised suppression input. */
export interface NormalizedSuppressionInput {
  account: string;
  email: string;
  reason: SuppressionReason;
  source: SuppressionSource;
  detail: string | null;
  expiresAt: number | null;
  at: number;
}

/** Validates and normalises a {@link SuppressionInput}; throws `MandrillKitValidationError`. */
export function normalizeSuppressionInput(input: SuppressionInput): NormalizedSuppressionInput {
  const at = input.at === undefined ? Date.now() : requireTime(input.at, "at");
  const expiresAt =
    input.expiresAt === undefined || input.expiresAt === null
      ? null
      : requireTime(input.expiresAt, "expiresAt");
  return {
    account: requireAccountId(input.account),
    email: requireEmail(input.email),
    reason: requireEnum(input.reason, SUPPRESSION_REASONS, "reason"),
    source: requireEnum(input.source, SUPPRESSION_SOURCES, "source"),
    detail: input.detail === undefined || input.detail === null ? null : String(input.detail).slice(0, 2000),
    expiresAt,
    at,
  };
}

/** Status of a suppression at `now`. */
export function suppressionStatus(
  s: Pick<Suppression, "expiresAt" | "liftedAt">,
  now: number,
): SuppressionStatus {
  if (s.liftedAt !== null) return "lifted";
  if (s.expiresAt !== null && s.expiresAt <= now) return "expired";
  return "active";
}

/**
 * Decides what adding `input` does to `existing`: a new or inactive entry is replaced; an active one
 * is replaced only by one that lasts longer (`null` expiry = forever), so a soft-bounce never shortens
 * a hard-bounce or a manual block.
 */
export function mergeSuppression(
  existing: Suppression | undefined,
  input: NormalizedSuppressionInput,
): { status: SuppressionAddStatus; next: Suppression } {
  const fresh: Suppression = {
    account: input.account,
    email: input.email,
    reason: input.reason,
    source: input.source,
    detail: input.detail,
    createdAt: input.at,
    updatedAt: input.at,
    expiresAt: input.expiresAt,
    liftedAt: null,
    liftedBy: null,
    liftReason: null,
  };
  if (existing === undefined || suppressionStatus(existing, input.at) !== "active") {
    return { status: "added", next: fresh };
  }
  const longer =
    existing.expiresAt !== null && (input.expiresAt === null || input.expiresAt > existing.expiresAt);
  if (!longer) return { status: "unchanged", next: existing };
  return { status: "extended", next: { ...fresh, createdAt: existing.createdAt } };
}

/** Validates an effect (called before any write, so a bad effect aborts the whole ingest). */
export function normalizeEffect(effect: SuppressionEffect): SuppressionEffect {
  const email = requireEmail(effect.email, "effects.email");
  switch (effect.op) {
    case "suppress":
      return {
        op: "suppress",
        email,
        reason: requireEnum(effect.reason, SUPPRESSION_REASONS, "effects.reason"),
        source: requireEnum(effect.source, SUPPRESSION_SOURCES, "effects.source"),
        detail: effect.detail ?? null,
        expiresAt: effect.expiresAt === null ? null : requireTime(effect.expiresAt, "effects.expiresAt"),
      };
    case "soft-bounce":
      if (!Number.isInteger(effect.threshold) || effect.threshold < 1) {
        throw new MandrillKitValidationError(
          "ERR_MK_VALIDATION_FAILED",
          "effects.threshold must be a positive integer.",
          [{ field: "effects.threshold", message: "must be a positive integer" }],
        );
      }
      return {
        op: "soft-bounce",
        email,
        detail: effect.detail ?? null,
        threshold: effect.threshold,
        windowMs: requireTime(effect.windowMs, "effects.windowMs"),
        suppressForMs: requireTime(effect.suppressForMs, "effects.suppressForMs"),
      };
    case "lift":
      return {
        op: "lift",
        email,
        by: String(effect.by),
        reason: String(effect.reason),
        ...(effect.sources === undefined
          ? {}
          : { sources: effect.sources.map((s) => requireEnum(s, SUPPRESSION_SOURCES, "effects.sources")) }),
      };
    default:
      throw new MandrillKitValidationError(
        "ERR_MK_VALIDATION_FAILED",
        `effects.op must be suppress, soft-bounce or lift; received ${JSON.stringify((effect as { op?: unknown }).op)}.`,
        [{ field: "effects.op", message: "is not a known effect" }],
      );
  }
}

/** Encodes a paging cursor (opaque to callers). */
export function encodeCursor(parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts), "utf8").toString("base64url");
}

/** Decodes a cursor made by {@link encodeCursor}; throws a validation error for anything else. */
export function decodeCursor(cursor: string): (string | number)[] {
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(parts) && parts.every((p) => typeof p === "string" || typeof p === "number")) {
      return parts as (string | number)[];
    }
  } catch {
    // fall through to the validation error
  }
  throw new MandrillKitValidationError(
    "ERR_MK_VALIDATION_FAILED",
    "after is not a cursor returned by this store.",
    [{ field: "after", message: "is not a valid cursor" }],
  );
}

/** Checked claim options with defaults applied (limit 1…1000, default 50; lease default 30 s). */
export function normalizeClaimOptions(options: {
  limit?: number;
  leaseMs?: number;
  now?: number;
  account?: string;
}): { limit: number; leaseMs: number; now: number; account: string | undefined } {
  const limit = options.limit ?? 50;
  const leaseMs = options.leaseMs ?? 30_000;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      `claim limit must be an integer from 1 to ${MAX_PAGE_LIMIT}; received ${String(limit)}.`,
      [{ field: "limit", message: `must be an integer from 1 to ${MAX_PAGE_LIMIT}` }],
    );
  }
  if (!Number.isInteger(leaseMs) || leaseMs < 1) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      `claim leaseMs must be a positive integer; received ${String(leaseMs)}.`,
      [{ field: "leaseMs", message: "must be a positive integer" }],
    );
  }
  return {
    limit,
    leaseMs,
    now: options.now === undefined ? Date.now() : requireTime(options.now, "now"),
    account: options.account === undefined ? undefined : requireAccountId(options.account),
  };
}

/** The lifted form of `existing`, or `undefined` when the lift does not apply (inactive, other source). */
export function liftSuppression(
  existing: Suppression | undefined,
  options: { by: string; reason: string; sources?: readonly SuppressionSource[] | undefined; at: number },
): Suppression | undefined {
  if (existing === undefined || suppressionStatus(existing, options.at) !== "active") return undefined;
  if (options.sources !== undefined && !options.sources.includes(existing.source)) return undefined;
  return {
    ...existing,
    liftedAt: options.at,
    liftedBy: options.by,
    liftReason: options.reason,
    updatedAt: options.at,
  };
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
 * `applied`. Shared by every synchronous store so their ingest semantics cannot drift apart.
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

/**
 * Checks one event to ingest (key, type, event time, raw text) and normalises its effects; called
 * for every event before a store writes anything, so a bad one aborts the whole batch.
 */
export function normalizeInboxEvent(e: InboxEventInput): InboxEventInput {
  const bad = (field: string, message: string) =>
    new MandrillKitValidationError("ERR_MK_VALIDATION_FAILED", `events: ${field} ${message}.`, [
      { field: `events.${field}`, message },
    ]);
  if (typeof e.key !== "string" || e.key.length === 0 || e.key.length > 512)
    throw bad("key", "must be a string of 1–512 characters");
  if (typeof e.type !== "string" || e.type.length === 0 || e.type.length > 128)
    throw bad("type", "must be a string of 1–128 characters");
  if (e.eventAt !== null && !Number.isSafeInteger(e.eventAt))
    throw bad("eventAt", "must be epoch milliseconds (a safe integer) or null");
  if (typeof e.raw !== "string") throw bad("raw", "must be the event's JSON text");
  return e.effects === undefined || e.effects.length === 0
    ? e
    : { ...e, effects: e.effects.map(normalizeEffect) };
}

/** Checks what `credentials.put` writes: settings an object, secrets a map of ciphertext strings. */
export function checkCredentialWrite(write: CredentialWrite): void {
  const bad =
    write === null ||
    typeof write !== "object" ||
    typeof write.settings !== "object" ||
    write.settings === null ||
    typeof write.secrets !== "object" ||
    write.secrets === null ||
    Object.values(write.secrets).some((v) => typeof v !== "string");
  if (bad) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      "credentials need { settings: object, secrets: { [field]: ciphertext string } }.",
      [{ field: "secrets", message: "must map field names to ciphertext strings" }],
    );
  }
}

/** A send record checked and normalised (account id, normalised address, time). */
export function normalizeSendRecord(e: SendRecordInput): Omit<SendRecordInput, "at"> & { at: number } {
  requireAccountId(e.account);
  const email = normalizeEmail(e.email);
  if (email === undefined) {
    throw new MandrillKitValidationError(
      "ERR_MK_EMAIL_INVALID",
      `sends.record: ${JSON.stringify(e.email)} is not an email address.`,
      [{ field: "email", message: "is not a valid email address" }],
    );
  }
  return {
    account: e.account,
    email,
    status: e.status,
    messageId: e.messageId,
    rejectReason: e.rejectReason,
    transport: e.transport,
    correlationId: e.correlationId,
    subject: e.subject,
    at: e.at ?? Date.now(),
  };
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
