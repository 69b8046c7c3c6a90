import {
  type InboxEventInput,
  type IngestResult,
  type MandrillEvent,
  resolveSuppressionPolicy,
  type Store,
  type SuppressionPolicy,
} from "@mandrill-kit/core";
import {
  eventKey,
  type ParseOutcome,
  parseMandrillEvents,
  suppressionEffects,
} from "@mandrill-kit/core/plugin";

/** What {@link ingestEvents} did with one verified `mandrill_events` value. */
export type IngestOutcome =
  | {
      status: "ingested";
      events: number;
      result: IngestResult;
      problems: number;
      /** What was given to the store (keys, types, effects), for metrics. */
      inputs: InboxEventInput[];
    }
  | { status: "quarantined"; quarantineId: number; reason: string };

/** Options of {@link ingestEvents}. */
export interface IngestEventsOptions {
  store: Store;
  account: string;
  /** The verified `mandrill_events` text, exactly as signed. */
  mandrillEvents: string;
  /** Suppression thresholds. @default the kit's default policy */
  policy?: SuppressionPolicy;
  /** When the batch arrived (epoch ms). @default Date.now() */
  receivedAt?: number;
  /** The value already parsed with `parseMandrillEvents` (saves parsing it twice). */
  parsed?: ParseOutcome;
  /**
   * Event types stored as already done: no handler, in any process, ever runs for them. An explicit
   * opt-in for high-volume types nobody handles (`open`, `click`…); every other event is `pending`.
   * @default none
   */
  skipHandlersFor?: ReadonlySet<string> | readonly string[];
}

/**
 * The inbox inputs for parsed events: stable keys, event times, raw JSON and suppression effects.
 * Every event is `pending` (dispatchers complete the types they have no handler for), except the
 * types in `skipHandlersFor`, stored as `done`.
 */
export function inboxInputs(
  events: readonly MandrillEvent[],
  policy: SuppressionPolicy,
  receivedAt: number,
  skipHandlersFor: ReadonlySet<string> = new Set(),
): InboxEventInput[] {
  return events.map((e) => ({
    key: eventKey(e),
    type: e.type === "unknown" ? `unknown:${(e.name ?? "").slice(0, 40)}` : e.type,
    email: e.email,
    messageId: e.messageId,
    eventAt: e.ts === null ? null : Math.round(e.ts * 1000),
    raw: e.rawJson,
    effects: suppressionEffects(e, policy, receivedAt),
    state: skipHandlersFor.has(e.type) ? "done" : "pending",
  }));
}

/**
 * Stores one *verified* `mandrill_events` value: parses it leniently, then in ONE store transaction
 * dedupes the events into the inbox and applies the suppression policy. A value that is not a JSON
 * array is quarantined instead (kept whole, never lost). Resolves after the commit.
 */
export async function ingestEvents(options: IngestEventsOptions): Promise<IngestOutcome> {
  // `mandrillEvents` is read only when needed: `receive` passes it as a getter that builds the string.
  const { store, account } = options;
  const receivedAt = options.receivedAt ?? Date.now();
  const parsed = options.parsed ?? parseMandrillEvents(options.mandrillEvents);
  if (!parsed.ok)
    return quarantineBatch(store, {
      account,
      receivedAt,
      body: options.mandrillEvents,
      message: parsed.message,
      reason: parsed.reason,
    });
  const skip = options.skipHandlersFor;
  const inputs = inboxInputs(
    parsed.events,
    options.policy ?? resolveSuppressionPolicy(),
    receivedAt,
    skip === undefined ? undefined : new Set(skip),
  );
  return storeInputs(store, { account, receivedAt, inputs, problems: parsed.problems.length });
}

/** Quarantines a verified `mandrill_events` value that is not a JSON array (kept whole). */
export async function quarantineBatch(
  store: Store,
  batch: { account: string; receivedAt: number; body: string; reason: string; message: string },
): Promise<IngestOutcome> {
  const quarantineId = await store.inbox.quarantine({
    account: batch.account,
    body: batch.body,
    error: `${batch.reason}: ${batch.message}`,
    receivedAt: batch.receivedAt,
  });
  return { status: "quarantined", quarantineId, reason: batch.message };
}

/** Stores a parsed batch's inbox inputs in ONE transaction (dedupe + suppressions). */
export async function storeInputs(
  store: Store,
  batch: { account: string; receivedAt: number; inputs: InboxEventInput[]; problems: number },
): Promise<IngestOutcome> {
  const { account, receivedAt, inputs } = batch;
  const result = await store.inbox.ingest({ account, receivedAt, events: inputs });
  return { status: "ingested", events: inputs.length, result, problems: batch.problems, inputs };
}
