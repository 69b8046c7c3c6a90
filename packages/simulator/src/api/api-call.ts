import type { AccountState, KeyState } from "../account-state.js";
import { validationError } from "../api-error.js";
import type { SimContext } from "../context.js";

/** One authenticated API call, as handlers see it. */
export interface ApiCall {
  ctx: SimContext;
  key: KeyState;
  account: AccountState;
  /** The JSON body without `key`. */
  params: Record<string, unknown>;
  ip: string | null;
}

/** Answers one API method; throws `MandrillApiError` for Mandrill errors. */
export type ApiHandler = (call: ApiCall) => unknown;

/** A required string parameter. */
export function requireString(params: Record<string, unknown>, name: string): string {
  const value = params[name];
  if (typeof value !== "string" || value.length === 0) throw validationError(`${name} is required`);
  return value;
}

/** An optional string parameter (`null`/absent/empty → `null`). */
export function optionalParam(params: Record<string, unknown>, name: string): string | null {
  const value = params[name];
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string") throw validationError(`${name} must be a string`);
  return value;
}
