/** Errors every store raises alike. */
import { MandrillKitStoreError } from "../errors.js";

/** `ERR_MK_STORE_CLOSED` for a call made after `close()`; `where` names the store ("The SQLite store …"). */
export function storeClosed(where: string, what: string): MandrillKitStoreError {
  return new MandrillKitStoreError("ERR_MK_STORE_CLOSED", `${where} is closed (${what}).`);
}

/** `ERR_MK_STORE_FAILED` wrapping a driver error (kept as `cause`). */
export function storeFailed(message: string, cause: unknown): MandrillKitStoreError {
  return new MandrillKitStoreError("ERR_MK_STORE_FAILED", message, { cause });
}
