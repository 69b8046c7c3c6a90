import type { MandrillSyncMethods } from "./mandrill-sync.js";
import type { Page, PageOptions } from "./page.js";

/** Why an address is suppressed. Mandrill's reject-reason spelling; `custom` for manual entries. */
export type SuppressionReason = "hard-bounce" | "soft-bounce" | "spam" | "unsub" | "invalid" | "custom";

/** The suppression reasons, in a stable order. */
export const SUPPRESSION_REASONS: readonly SuppressionReason[] = [
  "hard-bounce",
  "soft-bounce",
  "spam",
  "unsub",
  "invalid",
  "custom",
];

/** Where a suppression came from. */
/**
 * Where a suppression came from. `sync`: a Mandrill `blacklist` sync event; `mandrill-sync`: a full
 * reconcile with Mandrill's denylist (docs/design.md#mandrill-denylist-sync).
 */
export type SuppressionSource =
  | "webhook"
  | "send-result"
  | "manual"
  | "sync"
  | "one-click"
  | "import"
  | "mandrill-sync";

/** The suppression sources, in a stable order. */
export const SUPPRESSION_SOURCES: readonly SuppressionSource[] = [
  "webhook",
  "send-result",
  "manual",
  "sync",
  "one-click",
  "import",
  "mandrill-sync",
];

/** One address on an account's suppression list (one row per account and normalised address). */
export interface Suppression {
  account: string;
  /** Normalised (see `normalizeEmail`). */
  email: string;
  reason: SuppressionReason;
  source: SuppressionSource;
  /** Free text: the bounce diagnostic, the admin's note, … */
  detail: string | null;
  createdAt: number;
  updatedAt: number;
  /** When the suppression stops applying; `null` for never. */
  expiresAt: number | null;
  /** Set when lifted by a person or a sync event; a lifted entry no longer applies. */
  liftedAt: number | null;
  liftedBy: string | null;
  liftReason: string | null;
}

/** State of a suppression at a given time. */
export type SuppressionStatus = "active" | "expired" | "lifted";

/** What to suppress. */
export interface SuppressionInput {
  account: string;
  /** Any form of the address; it is normalised by the store. Invalid addresses are refused. */
  email: string;
  reason: SuppressionReason;
  source: SuppressionSource;
  detail?: string | null;
  /** `null`/absent for never. */
  expiresAt?: number | null;
  /** @default Date.now() */
  at?: number;
}

/**
 * What {@link SuppressionRepository.add} did:
 * - `added`: no active entry existed (new, or the previous one was lifted or expired);
 * - `extended`: an active entry existed and the new one lasts longer (it replaced it);
 * - `unchanged`: an active entry that lasts at least as long was kept as it was.
 */
export type SuppressionAddStatus = "added" | "extended" | "unchanged";

/** Result of one add. */
export interface SuppressionAddResult {
  status: SuppressionAddStatus;
  suppression: Suppression;
}

/** Options of {@link SuppressionRepository.remove}. */
export interface SuppressionLiftOptions {
  /** Who lifted it (admin user, `"mandrill-sync"`, …). */
  by: string;
  /** Why. */
  reason: string;
  /** Only lift an entry that came from one of these sources (e.g. `["sync"]`). Default: any source. */
  sources?: readonly SuppressionSource[];
  at?: number;
}

/** Filters of {@link SuppressionRepository.list} and {@link SuppressionRepository.count}. */
export interface SuppressionQuery {
  reason?: SuppressionReason;
  source?: SuppressionSource;
  /** @default "active" */
  status?: SuppressionStatus | "all";
  /** Case-insensitive substring of the address. */
  search?: string;
  /** Reference time for `status`. @default Date.now() */
  now?: number;
}

/** Per-account suppression list: addresses the kit must not send to. */
export interface SuppressionRepository extends MandrillSyncMethods {
  /** Suppresses an address (see {@link SuppressionAddStatus} for what happens to an existing entry). */
  add(input: SuppressionInput): Promise<SuppressionAddResult>;
  /** Many adds in one transaction (CSV import); all or nothing. */
  addMany(inputs: readonly SuppressionInput[]): Promise<SuppressionAddResult[]>;
  /** Lifts an active entry; `false` when there was no active entry (matching `sources`). */
  remove(account: string, email: string, options: SuppressionLiftOptions): Promise<boolean>;
  /**
   * The active suppressions among `emails` for `account`, in one round trip whatever the number of
   * addresses. Inputs are normalised; invalid ones are ignored. Returned entries carry normalised
   * addresses.
   */
  check(account: string, emails: readonly string[], options?: { now?: number }): Promise<Suppression[]>;
  /** The entry for an address in any state, or `undefined`. */
  get(account: string, email: string): Promise<Suppression | undefined>;
  /** Entries ordered by address. */
  list(account: string, query?: SuppressionQuery & PageOptions): Promise<Page<Suppression>>;
  count(account: string, query?: SuppressionQuery): Promise<number>;
}
