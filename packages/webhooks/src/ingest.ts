import {
  eventKey,
  type InboxEventInput,
  type IngestResult,
  type MandrillEvent,
  type ParseOutcome,
  parseMandrillEvents,
  type Store,
  type SuppressionPolicy,
  suppressionEffects,
} from "@mandrill-kit/core";

/** What {@link ingestEvents} did with one verified `mandrill_events` value. */
export type IngestOutcome =
  | { status: "ingested"; events: number; result: IngestResult; problems: number }
  | { status: "quarantined"; quarantineId: number; reason: string };

/**
 * The inbox inputs for parsed events: stable keys, event times, raw JSON and suppression effects.
 * Events no handler wants (`wanted` false) are stored as already done: they never enter the queue.
 */
export function inboxInputs(
  events: readonly MandrillEvent[],
  policy: SuppressionPolicy,
  receivedAt: number,
  wanted: (type: string) => boolean = () => true,
): InboxEventInput[] {
  return events.map((e) => ({
    key: eventKey(e),
    type: e.type === "unknown" ? `unknown:${(e.name ?? "").slice(0, 40)}` : e.type,
    email: e.email,
    messageId: e.messageId,
    eventAt: e.ts === null ? null : Math.round(e.ts * 1000),
    raw: e.rawJson,
    effects: suppressionEffects(e, policy, receivedAt),
    state: wanted(e.type) ? "pending" : "done",
  }));
}

/**
 * Stores one *verified* `mandrill_events` value: parses it leniently, then in ONE store transaction
 * dedupes the events into the inbox and applies the suppression policy. A value that is not a JSON
 * array is quarantined instead (kept whole, never lost). Resolves after the commit.
 */
export async function ingestEvents(
  store: Store,
  account: string,
  mandrillEvents: string,
  policy: SuppressionPolicy,
  receivedAt: number = Date.now(),
  parsed: ParseOutcome = parseMandrillEvents(mandrillEvents),
  wanted?: (type: string) => boolean,
): Promise<IngestOutcome> {
  if (!parsed.ok) {
    const quarantineId = await store.inbox.quarantine({
      account,
      body: mandrillEvents,
      error: `${parsed.reason}: ${parsed.message}`,
      receivedAt,
    });
    return { status: "quarantined", quarantineId, reason: parsed.message };
  }
  const result = await store.inbox.ingest({
    account,
    receivedAt,
    events: inboxInputs(parsed.events, policy, receivedAt, wanted),
  });
  return { status: "ingested", events: parsed.events.length, result, problems: parsed.problems.length };
}
