import { type Logger, silentLogger } from "@mandrill-kit/core";
import {
  componentLogger,
  defaultTelemetry,
  type EventProblem,
  endSpan,
  parseMandrillEvents,
  parseMandrillEventsBytes,
  secondsSince,
  type Telemetry,
  traceFields,
} from "@mandrill-kit/core/plugin";
import type { Context } from "@opentelemetry/api";
import { WebhookNotStoredError } from "./errors.js";
import {
  type IngestEventsOptions,
  type IngestOutcome,
  ingestEvents,
  quarantineBatch,
  storeInputs,
} from "./ingest-events.js";
import { inputsFromColumns, type ParseJobResult } from "./parse-job.js";
import { type BatchOutcome, countIngested, countRefusal, webhookInstruments } from "./telemetry.js";
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
  /** Where metrics and spans go. @default the global OpenTelemetry providers */
  telemetry?: Telemetry;
  /** Parent of the ingest span (the request's span). @default the active context */
  traceContext?: Context;
}

/** What {@link receive} decided, and what it stored. */
export interface Received {
  reply: WebhookReply;
  /** Set when a batch was stored or quarantined. */
  outcome?: IngestOutcome;
  /** The batch's outcome as counted in `mandrill_kit.webhooks.batches` (unset for URL checks). */
  counted?: BatchOutcome;
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
  const telemetry = options.telemetry ?? defaultTelemetry();
  if (!verified.ok) {
    const counted = countRefusal(telemetry, verified.reason);
    const reply = text(verified.status, verified.message, UNREAD_BODY.has(verified.status));
    return counted === undefined ? { reply } : { reply, counted };
  }
  if (verified.kind === "probe")
    return { reply: text(200, "Mandrill webhook endpoint: POST signed events here.") };
  if (verified.kind === "validation") {
    webhookInstruments(telemetry).batches.add(1, { outcome: "accepted" });
    return { reply: text(200, "OK"), counted: "accepted" };
  }
  const bytes = verified.mandrillEventsBytes;
  if (bytes === undefined ? verified.mandrillEvents === "[]" : isEmptyArray(bytes)) {
    webhookInstruments(telemetry).batches.add(1, { outcome: "accepted" });
    return { reply: text(200, "OK"), counted: "accepted" };
  }
  const { account, keyIndex } = verified;
  return storeBatch(account, keyIndex, options, () => {
    // From the bytes when the raw body was decoded: no 1 MB string (see parseMandrillEventsBytes).
    const parsed =
      bytes === undefined ? parseMandrillEvents(verified.mandrillEvents) : parseMandrillEventsBytes(bytes);
    const stored = ingestEvents({
      ...options,
      account,
      parsed,
      // Read only to quarantine a batch that is not a JSON array.
      get mandrillEvents() {
        return verified.mandrillEvents;
      },
    });
    return { stored, problems: () => (parsed.ok ? parsed.problems.slice(0, 5) : []) };
  });
}

/**
 * {@link receive} for a POST whose parse job (decode, verify, parse, inputs) already ran, in a
 * parse thread: the same answers, metrics and logs as `receive` of the same request.
 */
export async function receiveParsed(
  job: ParseJobResult,
  account: string,
  options: ReceiveOptions & { receivedAt: number },
): Promise<Received> {
  if (job.kind === "refusal") return receive(job.refusal, options);
  if (job.kind === "validation") return receive({ ok: true, kind: "validation", account }, options);
  if (job.kind === "empty") {
    webhookInstruments(options.telemetry ?? defaultTelemetry()).batches.add(1, { outcome: "accepted" });
    return { reply: text(200, "OK"), counted: "accepted" };
  }
  const { store, receivedAt } = options;
  return storeBatch(account, job.keyIndex, options, () =>
    job.kind === "unreadable"
      ? {
          stored: quarantineBatch(store, {
            account,
            receivedAt,
            body: job.mandrillEvents,
            reason: job.reason,
            message: job.message,
          }),
          problems: () => [],
        }
      : {
          stored: storeInputs(store, {
            account,
            receivedAt,
            inputs: inputsFromColumns(job.columns),
            problems: job.problemCount,
          }),
          problems: () => job.problems,
        },
  );
}

/** Stores a verified batch under its span and metrics, and builds the answer (200 only after the commit). */
async function storeBatch(
  account: string,
  keyIndex: number,
  options: ReceiveOptions,
  store: () => { stored: Promise<IngestOutcome>; problems: () => EventProblem[] },
): Promise<Received> {
  const telemetry = options.telemetry ?? defaultTelemetry();
  const span = telemetry
    .tracer()
    .startSpan(
      "mandrill_kit.webhooks.ingest",
      { attributes: { "mandrill_kit.account": account } },
      options.traceContext,
    );
  // Every log line about this batch carries its trace id.
  const log = componentLogger(options.logger ?? silentLogger, {
    component: "webhooks",
    ...traceFields(span),
  });
  if (keyIndex > 0)
    log.info(
      { account, keyIndex },
      "webhook signed with a previous key; Mandrill has not switched to the current key yet",
    );
  const started = performance.now();
  let outcome: IngestOutcome;
  let problems: () => EventProblem[];
  try {
    const run = store();
    problems = run.problems;
    outcome = await run.stored;
  } catch (error) {
    const m = webhookInstruments(telemetry);
    m.ingestDuration.record(secondsSince(started), m.batchSet(account, "not_stored"));
    m.batches.add(1, m.batchSet(account, "not_stored"));
    endSpan(span, error);
    throw new WebhookNotStoredError(account, { cause: error });
  }
  const counted: BatchOutcome =
    outcome.status === "quarantined"
      ? "quarantined"
      : countIngested(telemetry, account, outcome.inputs, outcome.result);
  const m = webhookInstruments(telemetry);
  if (counted === "quarantined") m.batches.add(1, m.batchSet(account, counted));
  m.ingestDuration.record(secondsSince(started), m.batchSet(account, counted));
  span.setAttribute("mandrill_kit.outcome", counted);
  if (outcome.status === "ingested") {
    span.setAttributes({
      "mandrill_kit.events": outcome.events,
      "mandrill_kit.events.new": outcome.result.inserted.length,
    });
  }
  endSpan(span);
  if (outcome.status === "quarantined") {
    log.error(
      { account, quarantineId: outcome.quarantineId },
      `signed webhook body quarantined: ${outcome.reason}`,
    );
    return { reply: json({ quarantined: true }), outcome, counted };
  }
  if (outcome.problems > 0)
    log.warn(
      { account, problems: problems() },
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
  return { reply, outcome, counted };
}
