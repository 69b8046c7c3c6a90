import type { Page, PageOptions } from "./page.js";
import type { SuppressionReason, SuppressionSource } from "./suppressions.js";

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
  /**
   * The same text as UTF-8 bytes, when the caller has them (the webhook router does): the kit's
   * stores then write these bytes and never read `raw`, which may be a getter that decodes them
   * (`Utf8InboxEvent`). Must be well-formed UTF-8 (an ingest refuses the batch otherwise).
   */
  rawUtf8?: Uint8Array;
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
  /**
   * Only events of these types (`unknown` also matches every `unknown:<name>`), e.g. the types a
   * dispatcher has handlers for. @default every type
   */
  types?: readonly string[];
  now?: number;
}

/** Options of {@link InboxRepository.completeUnwanted}. */
export interface CompleteUnwantedOptions {
  /**
   * The types a handler wants (at least one; `unknown` also matches every `unknown:<name>`): events of
   * every other type are completed.
   */
  wanted: readonly string[];
  /** At most this many events (1–10,000). @default 5000 */
  limit?: number;
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

/** The store-wide dispatch backlog (gauges, health, the admin page): indexed counts, cheap to ask often. */
export interface InboxBacklog {
  /** Events whose handlers have not finished (due now or waiting for a retry). */
  pending: number;
  /** Dead-lettered events (handlers gave up; replay to run them again). */
  dead: number;
  /** Earliest time a pending event became due (receipt, or its retry time), or `null` with none pending. */
  oldestDueAt: number | null;
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
  /**
   * Marks many events done in one transaction (unknown ones are ignored); resolves with how many
   * changed (an event named twice counts once).
   */
  completeMany(
    events: readonly { account: string; key: string }[],
    options?: { now?: number },
  ): Promise<number>;
  /**
   * Marks done, in one statement, pending events that a claim would take now (due, not leased) and
   * whose type is not `wanted`: what a dispatcher does with events no handler of its wants, without
   * claiming them first. Resolves with how many it completed (fewer than `limit`: none is left).
   * Optional: a dispatcher on a store without it claims such events and completes them with
   * `completeMany`.
   */
  completeUnwanted?(options: CompleteUnwantedOptions): Promise<number>;
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
  /**
   * The store-wide backlog, from indexes (no table scan). Optional for stores written before it:
   * without it the backlog gauges stay empty.
   */
  backlog?(): Promise<InboxBacklog>;
}
