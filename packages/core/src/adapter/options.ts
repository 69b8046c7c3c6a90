/** Checks of the options every store factory takes (after `checkOptions` rejected unknown names). */
import { MandrillKitConfigError } from "../errors.js";

/**
 * `value` (or `fallback` when absent) when it is an integer of at least `min`; otherwise
 * `ERR_MK_CONFIG_INVALID` naming the factory and the option.
 */
export function integerOption(
  factory: string,
  name: string,
  value: unknown,
  fallback: number,
  min: 0 | 1,
): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      name,
      `${factory}() ${name} must be a ${min === 0 ? "non-negative" : "positive"} integer; received ${JSON.stringify(v)}.`,
    );
  }
  return v;
}

/** `value` (or `fallback` when absent) when it is a boolean; otherwise `ERR_MK_CONFIG_INVALID`. */
export function booleanOption(factory: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      name,
      `${factory}() ${name} must be true or false; received ${JSON.stringify(value)}.`,
    );
  }
  return value;
}
