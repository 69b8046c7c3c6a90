/**
 * Rules of the `suppressions` repository shared by every store, so memory, SQLite and PostgreSQL
 * behave the same: input checks, the "keep the longest-lasting suppression" merge, lifting, status at
 * a time, the list filter (as SQL and as a predicate), and the row shape.
 */
import { requireAccountId } from "../account-id.js";
import { normalizeEmail, requireEmail } from "../email.js";
import {
  SUPPRESSION_REASONS,
  SUPPRESSION_SOURCES,
  type Suppression,
  type SuppressionAddStatus,
  type SuppressionInput,
  type SuppressionQuery,
  type SuppressionReason,
  type SuppressionSource,
  type SuppressionStatus,
} from "../store.js";
import { escapeLike, type SqlParams } from "./sql.js";
import { requireEnum, requireTime } from "./validate.js";

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

/** The addresses of a `check`, normalised, invalid ones dropped, each once, in first-seen order. */
export function checkList(emails: readonly string[]): string[] {
  const normalized = new Set<string>();
  for (const raw of emails) {
    const e = normalizeEmail(raw);
    if (e !== undefined) normalized.add(e);
  }
  return [...normalized];
}

/** Whether `s` passes the filters of `list`/`count` (status at `now`, reason, source, search). */
export function matchesSuppressionQuery(s: Suppression, query: SuppressionQuery, now: number): boolean {
  const status = query.status ?? "active";
  if (status !== "all" && suppressionStatus(s, now) !== status) return false;
  if (query.reason !== undefined && s.reason !== query.reason) return false;
  if (query.source !== undefined && s.source !== query.source) return false;
  return query.search === undefined || query.search === "" || s.email.includes(query.search.toLowerCase());
}

/**
 * The same filters as {@link matchesSuppressionQuery}, as the `WHERE` condition of a query on the
 * `suppressions` table (its parameters added to `params`).
 */
export function suppressionWhere(params: SqlParams, account: string, query: SuppressionQuery): string {
  const now = query.now ?? Date.now();
  const clauses = [`account = ${params.add(account)}`];
  const status = query.status ?? "active";
  if (status === "active") {
    clauses.push(`lifted_at IS NULL AND (expires_at IS NULL OR expires_at > ${params.add(now)})`);
  } else if (status === "expired") {
    clauses.push(`lifted_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ${params.add(now)}`);
  } else if (status === "lifted") {
    clauses.push("lifted_at IS NOT NULL");
  }
  if (query.reason !== undefined) clauses.push(`reason = ${params.add(query.reason)}`);
  if (query.source !== undefined) clauses.push(`source = ${params.add(query.source)}`);
  if (query.search !== undefined && query.search !== "") {
    clauses.push(`email LIKE ${params.add(`%${escapeLike(query.search.toLowerCase())}%`)} ESCAPE '\\'`);
  }
  return clauses.join(" AND ");
}

/** The columns of the `suppressions` table, in the order of {@link SuppressionRow}. */
export const SUPPRESSION_COLUMNS =
  "account, email, reason, source, detail, created_at, updated_at, expires_at, lifted_at, lifted_by, lift_reason";

/** A `suppressions` row. */
export interface SuppressionRow {
  account: string;
  email: string;
  reason: string;
  source: string;
  detail: string | null;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  lifted_at: number | null;
  lifted_by: string | null;
  lift_reason: string | null;
}

/** A `suppressions` row as a {@link Suppression}. */
export function toSuppression(row: SuppressionRow): Suppression {
  return {
    account: row.account,
    email: row.email,
    reason: row.reason as SuppressionReason,
    source: row.source as SuppressionSource,
    detail: row.detail,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    liftedAt: row.lifted_at,
    liftedBy: row.lifted_by,
    liftReason: row.lift_reason,
  };
}

/** The values of a {@link Suppression} in the order of {@link SUPPRESSION_COLUMNS}. */
export function suppressionValues(
  s: Suppression,
): [
  string,
  string,
  string,
  string,
  string | null,
  number,
  number,
  number | null,
  number | null,
  string | null,
  string | null,
] {
  return [
    s.account,
    s.email,
    s.reason,
    s.source,
    s.detail,
    s.createdAt,
    s.updatedAt,
    s.expiresAt,
    s.liftedAt,
    s.liftedBy,
    s.liftReason,
  ];
}
