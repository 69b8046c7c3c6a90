import { type CredentialRecord, isMandrillKitError, type Page, type Store } from "@mandrill-kit/core";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";
import { decryptSecret, encryptSecret, keyIdOf } from "./jwe.js";
import type { KeyRing } from "./key-ring.js";

/** What `CredentialsService.rotate()` did. */
export interface RotationReport {
  accounts: number;
  /** Secrets re-encrypted under the active key now. */
  reencrypted: number;
  /** Secrets already under the active key (a resumed rotation skips them). */
  alreadyCurrent: number;
  /** Accounts that could not be rotated (e.g. a secret under a key no longer configured), with the error code. */
  failed: { account: string; code: string; message: string }[];
  activeKid: string;
}

/** Options of `CredentialsService.rotate()`. */
export interface RotateOptions {
  /** Called after each account, e.g. to print progress. */
  onProgress?: (progress: { account: string; done: number }) => void;
}

/** How often a record changed by someone else meanwhile is read again before the account counts as failed. */
const CONFLICT_ATTEMPTS = 5;

/** Re-encrypts the secrets of one record that are not under the active key; writes only when one changed. */
async function rotateRecord(
  store: Store,
  ring: KeyRing,
  record: CredentialRecord,
): Promise<{ changed: number; current: number }> {
  const secrets: Record<string, string> = {};
  let changed = 0;
  let current = 0;
  for (const [field, jwe] of Object.entries(record.secrets)) {
    if (keyIdOf(jwe, record.account, field) === ring.active.kid) {
      secrets[field] = jwe;
      current++;
    } else {
      // Plaintext lives only in this scope, between decrypt and encrypt.
      const plaintext = await decryptSecret(ring, record.account, field, jwe);
      secrets[field] = await encryptSecret(ring, record.account, field, plaintext);
      changed++;
    }
  }
  if (changed > 0) {
    await store.credentials.put(
      record.account,
      { settings: record.settings, secrets },
      { expectedVersion: record.version },
    );
  }
  return { changed, current };
}

/**
 * Re-encrypts every stored secret not under the ring's active key, account by account (a record saved
 * by someone else meanwhile is read again). Resumable: secrets already under the active key are left
 * alone. `invalidate` is called for each account written.
 */
export async function rotateKeys(
  store: Store,
  ring: KeyRing,
  log: ComponentLogger,
  invalidate: (account: string) => void,
  options: RotateOptions = {},
): Promise<RotationReport> {
  const report: RotationReport = {
    accounts: 0,
    reencrypted: 0,
    alreadyCurrent: 0,
    failed: [],
    activeKid: ring.active.kid,
  };
  let after: string | null = null;
  do {
    const page: Page<CredentialRecord> = await store.credentials.list({ limit: 100, after });
    for (const first of page.items) {
      report.accounts++;
      let record: CredentialRecord | undefined = first;
      for (let attempt = 1; record !== undefined; attempt++) {
        try {
          const { changed, current } = await rotateRecord(store, ring, record);
          if (changed > 0) invalidate(record.account);
          report.reencrypted += changed;
          report.alreadyCurrent += current;
          break;
        } catch (error) {
          if (isMandrillKitError(error, "ERR_MK_STORE_CONFLICT") && attempt < CONFLICT_ATTEMPTS) {
            record = await store.credentials.get(first.account);
            continue;
          }
          const code = isMandrillKitError(error) ? error.code : "ERR_MK_STORE_FAILED";
          const message = error instanceof Error ? error.message : String(error);
          report.failed.push({ account: first.account, code, message });
          log.error({ account: first.account, code }, `could not rotate: ${message}`);
          break;
        }
      }
      options.onProgress?.({ account: first.account, done: report.accounts });
    }
    after = page.next;
  } while (after !== null);
  log.info(
    {
      accounts: report.accounts,
      reencrypted: report.reencrypted,
      failed: report.failed.length,
      activeKid: report.activeKid,
    },
    "key rotation finished",
  );
  return report;
}
