import { MandrillKitValidationError } from "../errors.js";

/** A validation error for one field, worded as the stores word them. */
export function invalid(
  field: string,
  message: string,
  text = `${field} ${message}.`,
): MandrillKitValidationError {
  return new MandrillKitValidationError("ERR_MK_VALIDATION_FAILED", text, [{ field, message }]);
}

/** `value` when it is one of `allowed`; a validation error naming `field` otherwise. */
export function requireEnum<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw invalid(
    field,
    `must be one of ${allowed.join(", ")}`,
    `${field} must be one of ${allowed.join(", ")}; received ${JSON.stringify(value)}.`,
  );
}

/** `value` truncated to whole milliseconds when it is a finite number; a validation error otherwise. */
export function requireTime(value: unknown, field: string): number {
  if (typeof value === "number" && Number.isFinite(value)) return Math.trunc(value);
  throw invalid(
    field,
    "must be epoch milliseconds",
    `${field} must be a finite epoch-ms number; received ${String(value)}.`,
  );
}
