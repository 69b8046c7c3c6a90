/**
 * Storage interfaces of mandrill-kit (DESIGN.md "Storage interfaces"). Every method is async so the
 * PostgreSQL adapter fits without changing callers. Times are Unix epoch milliseconds. Every method
 * that depends on the clock takes an optional `now`/`at` (default `Date.now()`) so behaviour can be
 * tested without waiting.
 *
 * Adapters: `createMemoryStore()` (this package), `openSqliteStore()` (`@mandrill-kit/sqlite`).
 * `runStoreContract()` in `@mandrill-kit/core/testing` is the behaviour every adapter must pass.
 */

/** A page of results; pass `next` back as `after` to get the following page. `null` at the end. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** Paging options. */
export interface PageOptions {
  /** @default 100 (at most 1000) */
  limit?: number;
  /** The `next` cursor of the previous page. */
  after?: string | null;
}

// ---------------------------------------------------------------- credentials

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

// ---------------------------------------------------------------- suppressions

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
export type SuppressionSource = "webhook" | "send-result" | "manual" | "sync" | "one-click" | "import";

/** The suppression sources, in a stable order. */
export const SUPPRESSION_SOURCES: readonly SuppressionSource[] = [
  "webhook",
  "send-result",
  "manual",
  "sync",
  "one-click",
  "import",
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
export interface SuppressionRepository {
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

// ---------------------------------------------------------------- inbox

/**
 * A change to the suppression list caused by an ingested event, applied in the same transaction as
 * the event's insert, and only if the event is new (a redelivered batch changes nothing).
 */
export type SuppressionEffect =
  | {
      op: "suppress";
      email: string;
      reason: SuppressionReason;
      source: SuppressionSource;
      detail: string | null;
      expiresAt: number | null;
    }
  | {
      /**
       * Counts soft bounces: suppress (reason `soft-bounce`) when at least `threshold` soft bounces
       * of this address, including this one, have event times within `windowMs` before this event's.
       */
      op: "soft-bounce";
      email: string;
      detail: string | null;
      threshold: number;
      windowMs: number;
      /** Suppression length, counted from this event's time. */
      suppressForMs: number;
    }
  | {
      op: "lift";
      email: string;
      by: string;
      reason: string;
      /** Only lift entries from these sources; absent for any. */
      sources?: readonly SuppressionSource[];
    };

/** An event to ingest. */
export interface InboxEventInput {
  /** Dedupe key, unique per account (see `eventKey`). */
  key: string;
  /** Event type (`hard_bounce`, `blacklist`, `unknown`, …). */
  type: string;
  /** Normalised recipient, or `null`. */
  email: string | null;
  /** Mandrill message `_id`, or `null`. */
  messageId: string | null;
  /** Event time in epoch ms (Mandrill's `ts` × 1000), or `null`. */
  eventAt: number | null;
  /** The event's JSON text as received. */
  raw: string;
  /** Suppression changes to apply if (and only if) the event is new. */
  effects?: readonly SuppressionEffect[];
  /**
   * `"done"` stores the event as already processed (no handler wants it), so it never enters the
   * dispatch queue. @default "pending"
   */
  state?: "pending" | "done";
}

/** A batch of events to ingest in one transaction. */
export interface IngestBatch {
  account: string;
  /** @default Date.now() */
  receivedAt?: number;
  events: readonly InboxEventInput[];
}

/** A suppression change made by an ingest. */
export interface AppliedEffect {
  /** Key of the event that caused it. */
  key: string;
  op: "suppressed" | "extended" | "lifted";
  email: string;
  reason: SuppressionReason | null;
}

/** What an ingest did. */
export interface IngestResult {
  /** Keys of events stored now, in batch order. */
  inserted: string[];
  /** Keys of events already present (redelivery, or repeated within the batch). */
  duplicates: string[];
  /** Suppression changes applied. */
  effects: AppliedEffect[];
}

/** Processing state of an inbox event: handlers not yet done, done, or given up on. */
export type InboxState = "pending" | "done" | "dead";

/** A stored webhook event. */
export interface InboxRecord {
  /** Store-wide sequence number (ingest order). */
  seq: number;
  account: string;
  key: string;
  type: string;
  email: string | null;
  messageId: string | null;
  eventAt: number | null;
  raw: string;
  receivedAt: number;
  state: InboxState;
  /** Handler runs started so far. */
  attempts: number;
  /** Earliest time the next run may start (pending only). */
  nextAttemptAt: number | null;
  /** Until when the current claim holds; `null` when not claimed. */
  leaseUntil: number | null;
  lastError: string | null;
  completedAt: number | null;
}

/** Options of {@link InboxRepository.claim}. */
export interface ClaimOptions {
  /** @default 50 */
  limit?: number;
  /** How long the claim holds before another worker may take the event again. @default 30000 */
  leaseMs?: number;
  /** Only this account's events. */
  account?: string;
  now?: number;
}

/** Options of {@link InboxRepository.fail}. */
export interface FailOptions {
  error: string;
  /** When to try again; `null` to dead-letter the event. */
  retryAt: number | null;
  now?: number;
}

/** A signed webhook body that could not be parsed, kept so nothing is lost. */
export interface QuarantinedBatch {
  id: number;
  account: string;
  receivedAt: number;
  /** The form-decoded `mandrill_events` value (or the whole body) as received. */
  body: string;
  error: string;
}

/** Counts for the admin page. */
export interface InboxStats {
  total: number;
  pending: number;
  done: number;
  dead: number;
  quarantined: number;
  /** Receipt time of the newest event or quarantined batch, or `null`. */
  lastReceivedAt: number | null;
  /** Event counts by type. */
  byType: Record<string, number>;
}

/** Durable webhook events and their handler-processing state. */
export interface InboxRepository {
  /**
   * Inserts the batch's new events and applies their suppression effects in ONE transaction; events
   * whose key already exists for the account are skipped with their effects. Resolves only after
   * the transaction committed.
   */
  ingest(batch: IngestBatch): Promise<IngestResult>;
  /**
   * Claims pending events that are due and not leased: sets their lease and counts an attempt.
   * Two concurrent claims never return the same event while its lease holds.
   */
  claim(options?: ClaimOptions): Promise<InboxRecord[]>;
  /** Marks a claimed event done. */
  complete(account: string, key: string, options?: { now?: number }): Promise<void>;
  /** Marks many events done in one transaction (unknown ones are ignored); resolves with how many changed. */
  completeMany(
    events: readonly { account: string; key: string }[],
    options?: { now?: number },
  ): Promise<number>;
  /** Records a failed handler run: retry later, or dead-letter when `retryAt` is `null`. */
  fail(account: string, key: string, options: FailOptions): Promise<void>;
  /** Makes a done or dead event pending again with attempts reset; `false` if no such event. */
  replay(account: string, key: string, options?: { now?: number }): Promise<boolean>;
  get(account: string, key: string): Promise<InboxRecord | undefined>;
  /** Newest first. */
  list(
    account: string,
    query?: { state?: InboxState; type?: string } & PageOptions,
  ): Promise<Page<InboxRecord>>;
  stats(account: string): Promise<InboxStats>;
  /** Stores an unparseable signed body; returns its id. */
  quarantine(entry: { account: string; body: string; error: string; receivedAt?: number }): Promise<number>;
  /** Newest first. */
  listQuarantined(account: string, options?: PageOptions): Promise<Page<QuarantinedBatch>>;
}

// ---------------------------------------------------------------- sends

/** One recipient of one send, as recorded. */
export interface SendRecordInput {
  account: string;
  /** Normalised recipient. */
  email: string;
  /** Kit status (`sent`, `queued`, `rejected`, `suppressed`, `unknown`, …). */
  status: string;
  /** Mandrill `_id`, when known. */
  messageId: string | null;
  rejectReason: string | null;
  transport: "api" | "smtp";
  /** The kit's correlation id for the whole send. */
  correlationId: string | null;
  subject: string | null;
  at?: number;
}

/** A recorded send recipient. */
export interface SendRecord extends Omit<SendRecordInput, "at"> {
  seq: number;
  at: number;
}

/** What was sent, to map Mandrill `_id`s back to accounts and recipients. */
export interface SendRepository {
  /** Records the recipients of one send in one transaction. */
  record(entries: readonly SendRecordInput[]): Promise<void>;
  /** The recipient record with this Mandrill `_id` (ids are unique per recipient). */
  findByMessageId(messageId: string): Promise<SendRecord | undefined>;
  /** Newest first; optionally one recipient's. */
  list(account: string, query?: { email?: string } & PageOptions): Promise<Page<SendRecord>>;
}

// ---------------------------------------------------------------- store

/** One numbered schema migration of a SQL store. Published migrations are never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every repository, in one object owning the connection. */
export interface Store {
  /** `"memory"`, `"sqlite"`, `"postgres"`… */
  readonly kind: string;
  readonly credentials: CredentialRepository;
  readonly suppressions: SuppressionRepository;
  readonly inbox: InboxRepository;
  readonly sends: SendRepository;
  /** Applies pending schema migrations (idempotent; safe to call on every start). */
  migrate(): Promise<void>;
  /** Releases the connection. Further calls reject with `ERR_MK_STORE_CLOSED`. Idempotent. */
  close(): Promise<void>;
}
