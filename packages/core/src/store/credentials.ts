import type { Page, PageOptions } from "./page.js";

/**
 * One account's stored Mandrill settings. The store only ever sees ciphertexts in `secrets`; the
 * credentials plugin encrypts before writing and decrypts after reading.
 */
export interface CredentialRecord {
  account: string;
  /** Increases by one on every write; used for optimistic concurrency and cache invalidation. */
  version: number;
  /** Non-secret settings (JSON-safe values only). */
  settings: Record<string, unknown>;
  /** Encrypted secrets by field name (e.g. `apiKey` → JWE compact string). */
  secrets: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

/** What is written by {@link CredentialRepository.put}. */
export interface CredentialWrite {
  settings: Record<string, unknown>;
  secrets: Record<string, string>;
}

/** Options of {@link CredentialRepository.put}. */
export interface CredentialPutOptions {
  /**
   * The version the caller read: `0` means "must not exist yet". When given and the stored version
   * differs, the write fails with `ERR_MK_STORE_CONFLICT`. Omit to overwrite unconditionally.
   */
  expectedVersion?: number;
  at?: number;
}

/** Per-account encrypted settings. */
export interface CredentialRepository {
  get(account: string): Promise<CredentialRecord | undefined>;
  /** Creates or replaces the record; returns it with its new version. */
  put(account: string, write: CredentialWrite, options?: CredentialPutOptions): Promise<CredentialRecord>;
  /** Deletes the record; `false` when there was none. */
  delete(account: string): Promise<boolean>;
  /** Every record, ordered by account id. */
  list(options?: PageOptions): Promise<Page<CredentialRecord>>;
}
