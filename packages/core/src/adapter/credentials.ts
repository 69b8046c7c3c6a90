/** Rules and row shape of the `credentials` repository, shared by every store. */
import { MandrillKitStoreError } from "../errors.js";
import type { CredentialRecord, CredentialWrite } from "../store.js";
import { invalid } from "./validate.js";

/** A `credentials` row (settings and secrets as JSON text). */
export interface CredentialRow {
  account: string;
  version: number;
  settings: string;
  secrets: string;
  created_at: number;
  updated_at: number;
}

/** A `credentials` row as a {@link CredentialRecord}. */
export function toCredential(row: CredentialRow): CredentialRecord {
  return {
    account: row.account,
    version: row.version,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    secrets: JSON.parse(row.secrets) as Record<string, string>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Checks what `credentials.put` writes: settings an object, secrets a map of ciphertext strings. */
export function checkCredentialWrite(write: CredentialWrite): void {
  const bad =
    write === null ||
    typeof write !== "object" ||
    typeof write.settings !== "object" ||
    write.settings === null ||
    typeof write.secrets !== "object" ||
    write.secrets === null ||
    Object.values(write.secrets).some((v) => typeof v !== "string");
  if (bad) {
    throw invalid(
      "secrets",
      "must map field names to ciphertext strings",
      "credentials need { settings: object, secrets: { [field]: ciphertext string } }.",
    );
  }
}

/**
 * Optimistic concurrency of `credentials.put`: throws `ERR_MK_STORE_CONFLICT` when the caller read
 * another version than the one stored (`current`, `0` when there is no record).
 */
export function checkExpectedVersion(account: string, expected: number | undefined, current: number): void {
  if (expected !== undefined && expected !== current) {
    throw new MandrillKitStoreError(
      "ERR_MK_STORE_CONFLICT",
      `Credentials of account ${JSON.stringify(account)} changed meanwhile (expected version ${expected}, found ${current}).`,
    );
  }
}
