import {
  componentLogger,
  type Logger,
  parseMandrillEvents,
  parseMandrillEventsBytes,
  silentLogger,
} from "@mandrill-kit/core";
import { WebhookNotStoredError } from "./errors.js";
import { type IngestEventsOptions, type IngestOutcome, ingestEvents } from "./ingest-events.js";
import type { VerifyResult } from "./verify-request.js";

/** The answer to send, as data: any HTTP framework can write it. */
export interface WebhookReply {
  status: number;
  contentType: "text/plain; charset=utf-8" | "application/json; charset=utf-8";
  body: string;
  /** Close the connection after answering: the rest of a refused body is not read. */
  closeConnection: boolean;
}

/** Options of {@link receive}: where verified batches go. */
export interface ReceiveOptions extends Omit<IngestEventsOptions, "account" | "mandrillEvents" | "parsed"> {
  /** @default silentLogger */
  logger?: Logger;
}

/** What {@link receive} decided, and what it stored. */
export interface Received {
  reply: WebhookReply;
  /** Set when a batch was stored or quarantined. */
  outcome?: IngestOutcome;
}

const isEmptyArray = (b: Uint8Array) => b.length === 2 && b[0] === 0x5b && b[1] === 0x5d;

/** Refusals answered before the whole body was read: the connection is closed, not drained. */
const UNREAD_BODY = new Set([408, 413, 415]);

const text = (status: number, body: string, closeConnection = false): WebhookReply => ({
  status,
  contentType: "text/plain; charset=utf-8",
  body: `${body}\n`,
  closeConnection,
});

const json = (body: unknown): WebhookReply => ({
  status: 200,
  contentType: "application/json; charset=utf-8",
  body: JSON.stringify(body),
  closeConnection: false,
});

/**
 * The step after {@link verifyRequest}: a refusal becomes its answer; a URL check or the validation
 * POST gets 200 and stores nothing; a verified batch is parsed and stored in ONE transaction with its
 * suppressions (or quarantined when it is not a JSON array), and only then answered 200.
 *
 * Rejects with a {@link WebhookNotStoredError} when the store fails: nothing was acknowledged, and the
 * caller must answer 5xx so Mandrill retries.
 */
export async function receive(verified: VerifyResult, options: ReceiveOptions): Promise<Received> {
  if (!verified.ok)
    return { reply: text(verified.status, verified.message, UNREAD_BODY.has(verified.status)) };
  if (verified.kind === "probe")
    return { reply: text(200, "Mandrill webhook endpoint: POST signed events here.") };
  if (verified.kind === "validation") return { reply: text(200, "OK") };
  const bytes = verified.mandrillEventsBytes;
  if (bytes === undefined ? verified.mandrillEvents === "[]" : isEmptyArray(bytes))
    return { reply: text(200, "OK") };
  const { account } = verified;
  const log = componentLogger(options.logger ?? silentLogger, { component: "webhooks" });
  if (verified.keyIndex > 0)
    log.info(
      { account, keyIndex: verified.keyIndex },
      "webhook signed with a previous key; Mandrill has not switched to the current key yet",
    );
  // From the bytes when the raw body was decoded: no 1 MB string (see parseMandrillEventsBytes).
  const parsed =
    bytes === undefined ? parseMandrillEvents(verified.mandrillEvents) : parseMandrillEventsBytes(bytes);
  let outcome: IngestOutcome;
  try {
    outcome = await ingestEvents({
      ...options,
      account,
      parsed,
      // Read only to quarantine a batch that is not a JSON array.
      get mandrillEvents() {
        return verified.mandrillEvents;
      },
    });
  } catch (error) {
    throw new WebhookNotStoredError(account, { cause: error });
  }
  if (outcome.status === "quarantined") {
    log.error(
      { account, quarantineId: outcome.quarantineId },
      `signed webhook body quarantined: ${outcome.reason}`,
    );
    return { reply: json({ quarantined: true }), outcome };
  }
  if (outcome.problems > 0 && parsed.ok)
    log.warn(
      { account, problems: parsed.problems.slice(0, 5) },
      `webhook batch had ${outcome.problems} event(s) with unexpected shapes (kept as received)`,
    );
  log.debug(
    {
      account,
      events: outcome.events,
      inserted: outcome.result.inserted.length,
      suppressions: outcome.result.effects.length,
    },
    "webhook batch stored",
  );
  const reply = json({
    received: outcome.events,
    new: outcome.result.inserted.length,
    duplicates: outcome.result.duplicates.length,
  });
  return { reply, outcome };
}
