/**
 * Rules of the Mandrill denylist sync shared by every store (docs/design.md#mandrill-denylist-sync):
 * row checks, which of two staged rows for one address is kept, and what one row does to the local
 * entry. Stores only read, lock and write; the decisions are made here.
 */
import { requireAccountId } from "../account-id.js";
import { requireEmail } from "../email.js";
import type { MandrillListRow, MandrillSyncCounts } from "../store/mandrill-sync.js";
import {
  SUPPRESSION_REASONS,
  type Suppression,
  type SuppressionReason,
  type SuppressionSource,
} from "../store/suppressions.js";
import { suppressionStatus } from "./suppressions.js";
import { invalid, requireEnum, requireTime } from "./validate.js";

/** A checked, normalised {@link MandrillListRow}. */
export interface NormalizedMandrillRow {
  list: "deny" | "allow";
  email: string;
  reason: SuppressionReason;
  detail: string | null;
  expiresAt: number | null;
  changedAt: number;
}

/** A staged row as the apply reads it: `allowed` when the same run also has it on the allowlist. */
export interface StagedMandrillRow extends NormalizedMandrillRow {
  allowed: boolean;
}

/** Local sources a Mandrill allowlist entry may lift: the ones that came from Mandrill. */
export const MANDRILL_SOURCES: readonly SuppressionSource[] = ["sync", "mandrill-sync"];

/** How many staged rows an apply reads, decides and writes at a time. */
export const MANDRILL_APPLY_PAGE = 1000;

/** Checks a run id: 1–64 characters of letters, digits, `-` and `_`. */
export function requireRunId(run: unknown): string {
  if (typeof run !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(run)) {
    throw invalid("run", "must be 1–64 letters, digits, - or _", "run must be 1–64 letters, digits, - or _.");
  }
  return run;
}

/** Validates and normalises a row; throws `MandrillKitValidationError` / `ERR_MK_EMAIL_INVALID`. */
export function normalizeMandrillRow(row: MandrillListRow): NormalizedMandrillRow {
  const list = requireEnum(row.list, ["deny", "allow"] as const, "list");
  return {
    list,
    email: requireEmail(row.email),
    reason: list === "deny" ? requireEnum(row.reason ?? "custom", SUPPRESSION_REASONS, "reason") : "custom",
    detail: row.detail === undefined || row.detail === null ? null : String(row.detail).slice(0, 2000),
    expiresAt:
      list === "deny" && row.expiresAt !== undefined && row.expiresAt !== null
        ? requireTime(row.expiresAt, "expiresAt")
        : null,
    changedAt: requireTime(row.changedAt, "changedAt"),
  };
}

/** Checks the account, the run and every row before anything is staged. */
export function normalizeStage(
  account: string,
  run: string,
  rows: readonly MandrillListRow[],
): { account: string; run: string; rows: NormalizedMandrillRow[] } {
  return { account: requireAccountId(account), run: requireRunId(run), rows: rows.map(normalizeMandrillRow) };
}

/** Whether `next` lasts longer than `current` (`null` = for ever). */
export function lastsLonger(next: number | null, current: number | null): boolean {
  return current !== null && (next === null || next > current);
}

/** Of two denylist rows for one address, the one to stage: the longer-lasting (the first on a tie). */
export function keepStaged(
  current: NormalizedMandrillRow | undefined,
  next: NormalizedMandrillRow,
): NormalizedMandrillRow {
  if (current === undefined || next.list === "allow") return current ?? next;
  return lastsLonger(next.expiresAt, current.expiresAt) ? next : current;
}

/** Counts all at zero. */
export function emptyMandrillCounts(): MandrillSyncCounts {
  return {
    imported: 0,
    updated: 0,
    unchanged: 0,
    lifted: 0,
    allowlisted: 0,
    onlyLocal: 0,
    onlyMandrill: 0,
  };
}

/**
 * What one staged row does to the local entry `existing` at time `at`: the counter it adds to, and
 * the entry to write (`undefined`: nothing to write).
 */
export function decideMandrillRow(
  account: string,
  existing: Suppression | undefined,
  row: StagedMandrillRow,
  at: number,
): { count: keyof MandrillSyncCounts; next?: Suppression; onlyMandrill?: true } {
  const status = existing === undefined ? undefined : suppressionStatus(existing, at);
  if (row.list === "allow") {
    if (existing === undefined || status !== "active" || !MANDRILL_SOURCES.includes(existing.source)) {
      return { count: "unchanged" };
    }
    const next = {
      ...existing,
      liftedAt: at,
      liftedBy: "mandrill-sync",
      liftReason: "on the Mandrill allowlist",
      updatedAt: at,
    };
    return { count: "lifted", next };
  }
  if (row.allowed) return { count: "allowlisted" };
  const fresh: Suppression = {
    account,
    email: row.email,
    reason: row.reason,
    source: "mandrill-sync",
    detail: row.detail,
    createdAt: at,
    updatedAt: at,
    expiresAt: row.expiresAt,
    liftedAt: null,
    liftedBy: null,
    liftReason: null,
  };
  if (existing === undefined || status === "expired") return { count: "imported", next: fresh };
  if (status === "lifted") {
    // A lift made here stands unless Mandrill changed its entry after it.
    if (row.changedAt > (existing.liftedAt ?? 0)) return { count: "imported", next: fresh };
    return { count: "unchanged", onlyMandrill: true };
  }
  if (MANDRILL_SOURCES.includes(existing.source)) {
    // Mandrill's own entry: mirror it as it is now.
    const same =
      existing.reason === row.reason &&
      existing.detail === row.detail &&
      existing.expiresAt === row.expiresAt;
    if (same) return { count: "unchanged" };
    return { count: "updated", next: { ...fresh, createdAt: existing.createdAt } };
  }
  // A local entry (bounce, manual block…) is kept unless Mandrill's lasts longer.
  if (!lastsLonger(row.expiresAt, existing.expiresAt)) return { count: "unchanged" };
  return { count: "updated", next: { ...fresh, createdAt: existing.createdAt } };
}

/** Adds one decision to `counts`. */
export function countDecision(
  counts: MandrillSyncCounts,
  decision: { count: keyof MandrillSyncCounts; onlyMandrill?: true },
): void {
  counts[decision.count] += 1;
  if (decision.onlyMandrill === true) counts.onlyMandrill += 1;
}
