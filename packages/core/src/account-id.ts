import { MandrillKitValidationError } from "./errors.js";

const ACCOUNT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * True when `id` is a valid account id: 1–128 characters from `A–Z a–z 0–9 _ - .`, starting with a
 * letter or digit, with no `..`. Account ids appear in URLs (the Callback URL) and file names, so the
 * alphabet is deliberately small. Ids are case-sensitive and never altered by the kit.
 */
export function isAccountId(id: unknown): id is string {
  return typeof id === "string" && ACCOUNT_ID.test(id) && !id.includes("..");
}

/** Returns `id` when valid, else throws a {@link MandrillKitValidationError} (`ERR_MK_ACCOUNT_INVALID`). */
export function requireAccountId(id: unknown, field = "account"): string {
  if (isAccountId(id)) return id;
  const shown = typeof id === "string" ? JSON.stringify(id.slice(0, 80)) : typeof id;
  throw new MandrillKitValidationError(
    "ERR_MK_ACCOUNT_INVALID",
    `${field} must be 1–128 characters from A–Z, a–z, 0–9, "_", "-", "." starting with a letter or digit (no ".."); received ${shown}.`,
    [{ field, message: "is not a valid account id" }],
  );
}
