/**
 * Reconciling an account's suppression list with Mandrill's own rejection denylist and allowlist
 * (docs/design.md#mandrill-denylist-sync): the rows read from Mandrill are first staged under a run id,
 * then applied in one transaction, so a failed or cut-off read leaves the list as it was.
 */
import type { Page, PageOptions } from "./page.js";
import type { Suppression, SuppressionReason } from "./suppressions.js";

/** One row read from Mandrill: a denylist entry (`list: "deny"`) or an allowlist entry (`list: "allow"`). */
export interface MandrillListRow {
  list: "deny" | "allow";
  /** Any form of the address; the store normalises it. Invalid addresses are refused. */
  email: string;
  /** Denylist rows: the kit's reason (Mandrill's, unknown ones as `custom`). Ignored for allowlist rows. */
  reason?: SuppressionReason;
  detail?: string | null;
  /** Denylist rows: when the entry stops applying; `null` for never. */
  expiresAt?: number | null;
  /** When Mandrill last changed the entry (`last_event_at`, else `created_at`): decides against a local lift. */
  changedAt: number;
}

/** What applying a staged run did. */
export interface MandrillSyncCounts {
  /** Addresses that had no active local entry and now have one from Mandrill. */
  imported: number;
  /** Active local entries replaced by Mandrill's (a longer one, or Mandrill's own entry changed). */
  updated: number;
  /** Rows that changed nothing (the local entry is as strong, or already the same). */
  unchanged: number;
  /** Local `sync`/`mandrill-sync` entries lifted because the address is on Mandrill's allowlist. */
  lifted: number;
  /** Denylist rows skipped because the address is also on Mandrill's allowlist. */
  allowlisted: number;
  /** Addresses active locally but not on Mandrill's denylist, after the apply. */
  onlyLocal: number;
  /** Addresses on Mandrill's denylist that stay inactive locally (lifted here after Mandrill's last change). */
  onlyMandrill: number;
}

/** The last applied run of an account. */
export interface MandrillSyncState {
  run: string;
  syncedAt: number;
  counts: MandrillSyncCounts;
}

/** One address that differs between the local list and Mandrill's denylist. */
export interface DriftEntry {
  email: string;
  /** `local`: active here, not on Mandrill's denylist; `mandrill`: on Mandrill's denylist, not active here. */
  side: "local" | "mandrill";
  /** The local entry, when there is one (in any state). */
  local: Suppression | null;
  /** Mandrill's entry, for `side: "mandrill"`. */
  mandrill: { reason: SuppressionReason; detail: string | null; expiresAt: number | null } | null;
}

/** The staging and reconciling methods of the suppressions repository. */
export interface MandrillSyncMethods {
  /**
   * Adds rows to run `run` of `account` (call as often as needed; nothing changes the list yet). A
   * second denylist row for the same address keeps the longer-lasting one. Refuses invalid input
   * (nothing of the call is staged).
   */
  stageMandrillRows(account: string, run: string, rows: readonly MandrillListRow[]): Promise<void>;
  /**
   * Applies run `run` in one transaction (all or nothing): denylist rows suppress with source
   * `mandrill-sync` under the rules of docs/design.md#mandrill-denylist-sync; allowlist rows lift
   * matching `sync`/`mandrill-sync` entries. The run becomes the account's mirror of Mandrill's list
   * (for {@link MandrillSyncMethods.drift}); older runs are dropped. Applying the same rows again
   * changes nothing.
   */
  applyMandrillRun(account: string, run: string, options?: { at?: number }): Promise<MandrillSyncCounts>;
  /** Drops a staged run that will not be applied. */
  discardMandrillRun(account: string, run: string): Promise<void>;
  /** The last applied run, or `undefined` when the account was never synced. */
  mandrillSyncState(account: string): Promise<MandrillSyncState | undefined>;
  /** Addresses that differ from Mandrill's list as of the last applied run, by address. */
  drift(
    account: string,
    query: { side: "local" | "mandrill"; now?: number } & PageOptions,
  ): Promise<Page<DriftEntry>>;
}
