import { MandrillKitConfigError } from "@mandrill-kit/core";

/** The factory named in every message. */
export const FACTORY = "startSimulator";

export function show(value: unknown): string {
  if (typeof value === "function") return "a function";
  if (value === undefined) return "undefined";
  return JSON.stringify(value) ?? String(value);
}

/** Throws `ERR_MK_CONFIG_INVALID` for `option`, quoting the value received. */
export function fail(option: string, message: string, value: unknown): never {
  throw new MandrillKitConfigError(
    "ERR_MK_CONFIG_INVALID",
    option,
    `${FACTORY}() option ${option} ${message}; received ${show(value)}.`,
  );
}

export function port(value: unknown, option: string, allowFalse: boolean): number | false {
  if (allowFalse && value === false) return false;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 65535) {
    fail(option, `must be a port number from 0 to 65535${allowFalse ? " or false" : ""}`, value);
  }
  return value;
}

export function positiveInt(
  value: unknown,
  option: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(option, `must be an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function bool(value: unknown, option: string): boolean {
  if (typeof value !== "boolean") fail(option, "must be true or false", value);
  return value;
}

export function fn<T>(value: unknown, option: string): T {
  if (typeof value !== "function") fail(option, "must be a function", value);
  return value as T;
}

export function stringList(value: unknown, option: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || v.length === 0)) {
    fail(option, "must be an array of non-empty strings", value);
  }
  return [...(value as string[])];
}
