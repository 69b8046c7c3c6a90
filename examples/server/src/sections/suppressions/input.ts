import {
  type FieldError,
  isEmail,
  MandrillKitValidationError,
  SUPPRESSION_REASONS,
  type Suppression,
  type SuppressionInput,
  type SuppressionReason,
} from "@mandrill-kit/core";

/** A suppression as the JSON API and the CSV export show it. */
export interface SuppressionItem {
  email: string;
  reason: SuppressionReason;
  source: string;
  detail: string | null;
  createdAt: string;
  expiresAt: string | null;
}

/** The API/CSV view of a stored suppression (ISO 8601 times). */
export function suppressionItem(s: Suppression): SuppressionItem {
  return {
    email: s.email,
    reason: s.reason,
    source: s.source,
    detail: s.detail,
    createdAt: new Date(s.createdAt).toISOString(),
    expiresAt: s.expiresAt === null ? null : new Date(s.expiresAt).toISOString(),
  };
}

/** `reason` from a form or JSON, or `undefined` when it is not one of the kit's reasons. */
export function parseReason(value: unknown): SuppressionReason | undefined {
  return typeof value === "string" && (SUPPRESSION_REASONS as readonly string[]).includes(value)
    ? (value as SuppressionReason)
    : undefined;
}

/** Validates a manual add; throws `ERR_MK_VALIDATION_FAILED` with fields. */
export function manualSuppression(
  account: string,
  body: Record<string, unknown>,
  now = Date.now(),
): SuppressionInput {
  const fields: FieldError[] = [];
  const email = typeof body.email === "string" ? body.email.trim() : "";
  if (!isEmail(email)) fields.push({ field: "email", message: "must be an email address" });
  const reason = body.reason === undefined || body.reason === "" ? "custom" : parseReason(body.reason);
  if (reason === undefined)
    fields.push({ field: "reason", message: `must be one of ${SUPPRESSION_REASONS.join(", ")}` });
  const detail = typeof body.detail === "string" && body.detail.trim() !== "" ? body.detail.trim() : null;
  if (detail !== null && detail.length > 500)
    fields.push({ field: "detail", message: "must be at most 500 characters" });
  let expiresAt: number | null = null;
  if (typeof body.expiresAt === "string" && body.expiresAt.trim() !== "") {
    expiresAt = Date.parse(body.expiresAt);
    if (!Number.isFinite(expiresAt))
      fields.push({ field: "expiresAt", message: "must be a date such as 2027-01-31" });
    else if (expiresAt <= now)
      // A past end would add nothing: the address could be mailed at once.
      fields.push({
        field: "expiresAt",
        message: "must be a date in the future (leave it empty to suppress for good)",
      });
  }
  if (fields.length > 0) {
    throw new MandrillKitValidationError("ERR_MK_VALIDATION_FAILED", "The suppression is not valid.", fields);
  }
  return { account, email, reason: reason ?? "custom", source: "manual", detail, expiresAt };
}
