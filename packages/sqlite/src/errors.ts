/** How a SQLite store reports failures: closed, driver errors mapped to `ERR_MK_STORE_FAILED`. */
import { isMandrillKitError } from "@mandrill-kit/core";
import { storeClosed, storeFailed } from "@mandrill-kit/core/adapter";
import type { RetiredPagesPurge } from "./connection.js";

/**
 * The `run` of a store's context: every repository method goes through it. Kit errors (validation,
 * conflict, not found) pass unchanged; anything the driver throws becomes `ERR_MK_STORE_FAILED` with
 * the driver error as `cause`. After each call, a purge of rewritten secrets that could not finish
 * is tried again.
 */
export function sqliteRunner(
  filename: string,
  isClosed: () => boolean,
  retiredPages: RetiredPagesPurge,
): <T>(what: string, fn: () => T) => Promise<T> {
  return async (what, fn) => {
    if (isClosed()) throw storeClosed(`The SQLite store ${JSON.stringify(filename)}`, what);
    try {
      return fn();
    } catch (error) {
      if (isMandrillKitError(error)) throw error;
      throw storeFailed(
        `SQLite ${what} failed on ${JSON.stringify(filename)}: ${(error as Error).message}`,
        error,
      );
    } finally {
      retiredPages.retryIfDue();
    }
  };
}
