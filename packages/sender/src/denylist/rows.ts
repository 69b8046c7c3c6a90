/** Mandrill's denylist and allowlist rows (API answers and export CSV lines) as the store stages them. */
import {
  MandrillKitError,
  type MandrillListRow,
  normalizeEmail,
  type SuppressionReason,
} from "@mandrill-kit/core";
import { parseMandrillTime } from "@mandrill-kit/core/plugin";

/** Mandrill's denylist reasons the kit keeps as they are; any other is `custom` (docs/design.md#mandrill-denylist-sync). */
const KEPT_REASONS: readonly string[] = ["hard-bounce", "soft-bounce", "spam", "unsub", "custom"];

/** A refusal of what Mandrill gave, naming where (`line 12 of rejects.csv`) and why. */
export function invalidExport(where: string, reason: string, cause?: unknown): MandrillKitError {
  return new MandrillKitError(
    "ERR_MK_DENYLIST_EXPORT_INVALID",
    `Mandrill's list could not be used (${where}): ${reason}. Nothing was changed.`,
    cause === undefined ? {} : { cause },
  );
}

function text(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value.slice(0, 2000) : null;
}

function time(value: unknown, column: string, where: string, optional: boolean): number | null {
  if (value === undefined || value === null || value === "") {
    if (optional) return null;
    throw invalidExport(where, `${column} is empty`);
  }
  const t = parseMandrillTime(value);
  if (t === undefined) throw invalidExport(where, `${column} ${JSON.stringify(value)} is not a date`);
  return t;
}

/** One denylist row, or `"expired"` when its `expires_at` has passed at `now`. */
export function denyRow(
  fields: Record<string, unknown>,
  where: string,
  now: number,
): MandrillListRow | "expired" {
  const email = normalizeEmail(String(fields.email ?? ""));
  if (email === undefined)
    throw invalidExport(where, `${JSON.stringify(fields.email ?? "")} is not an address`);
  const raw = typeof fields.reason === "string" ? fields.reason : "";
  const reason = (KEPT_REASONS.includes(raw) ? raw : "custom") as SuppressionReason;
  const expiresAt = time(fields.expires_at, "expires_at", where, true);
  const createdAt = time(fields.created_at, "created_at", where, false) as number;
  const lastEventAt = time(fields.last_event_at, "last_event_at", where, true);
  if (fields.expired === true || (expiresAt !== null && expiresAt <= now)) return "expired";
  return {
    list: "deny",
    email,
    reason,
    detail: text(fields.detail),
    expiresAt,
    changedAt: lastEventAt ?? createdAt,
  };
}

/** One allowlist row. */
export function allowRow(fields: Record<string, unknown>, where: string): MandrillListRow {
  const email = normalizeEmail(String(fields.email ?? ""));
  if (email === undefined)
    throw invalidExport(where, `${JSON.stringify(fields.email ?? "")} is not an address`);
  const createdAt = time(fields.created_at, "created_at", where, false) as number;
  return { list: "allow", email, detail: text(fields.detail), changedAt: createdAt };
}

/** The columns each export file must have. */
export const REQUIRED_COLUMNS = {
  deny: ["email", "reason", "created_at", "expires_at"],
  allow: ["email", "created_at"],
} as const;
