/**
 * Paging shared by every store: page sizes, opaque cursors, and cutting a page from rows fetched
 * with one extra (so the adapter knows whether more follow without a count).
 */
import type { Page, PageOptions } from "../store.js";
import { invalid } from "./validate.js";

/** Page size when none is asked for. */
export const DEFAULT_PAGE_LIMIT = 100;
/** Largest page a store returns, whatever is asked for. */
export const MAX_PAGE_LIMIT = 1000;

/** Clamps a requested page size to 1…{@link MAX_PAGE_LIMIT}; a validation error for a non-positive one. */
export function pageLimit(options?: PageOptions): number {
  const limit = options?.limit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw invalid(
      "limit",
      "must be a positive integer",
      `limit must be a positive integer; received ${String(limit)}.`,
    );
  }
  return Math.min(limit, MAX_PAGE_LIMIT);
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
  throw invalid("after", "is not a valid cursor", "after is not a cursor returned by this store.");
}

/** For lists in ascending key order (accounts, addresses): the key to start after, or `null` for the first page. */
export function afterKey(options: PageOptions): string | null {
  return options.after ? String(decodeCursor(options.after)[0]) : null;
}

/**
 * For lists newest first (events, quarantined bodies, sends): the sequence number to stay below,
 * `Number.MAX_SAFE_INTEGER` for the first page.
 */
export function beforeSeq(options: PageOptions): number {
  return options.after ? Number(decodeCursor(options.after)[0]) : Number.MAX_SAFE_INTEGER;
}

/** The first `limit` of `rows` (fetched with one extra to know if more follow) as a page. */
export function page<T>(rows: T[], limit: number, cursorOf: (row: T) => (string | number)[]): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next: rows.length > limit && last !== undefined ? encodeCursor(cursorOf(last)) : null };
}
