/**
 * The CPU-bound part of a webhook POST as one job: form decoding, the signature, `mandrill_events`
 * parsing and the inbox inputs (keys, policy effects). The router runs it in a worker thread for
 * large bodies (see parse-pool.ts), or in its own thread; both give the same result.
 *
 * A prepared batch crosses the thread boundary packed ({@link PreparedColumns}: every string field in
 * one transferred buffer, with their bounds), not as 1,000 cloned objects: the main thread slices
 * strings out of one buffer instead of deserialising thousands of them.
 */
import {
  type InboxEventInput,
  MandrillKitError,
  type SuppressionEffect,
  type SuppressionPolicy,
} from "@mandrill-kit/core";
import {
  type EventProblem,
  parseMandrillEventsBytesWithRanges,
  Utf8InboxEvent,
} from "@mandrill-kit/core/plugin";
import { inboxInputs } from "./ingest-events.js";
import { type Refusal, verifyRequest } from "./verify-request.js";

/** What a parse job needs: the raw body and what the main thread knows of the request. */
export interface ParseJobInput {
  body: Uint8Array;
  contentType: string | undefined;
  signature: string | undefined;
  account: string;
  callbackUrl: string;
  keys: string[];
  policy: SuppressionPolicy;
  receivedAt: number;
  /** Event types stored as done (`skipHandlersFor`). */
  skipHandlersFor: string[];
}

/**
 * A verified, readable batch's inbox inputs, packed: every string field's text in one buffer
 * with their bounds, so the main thread rebuilds 1,000 events' strings by slicing one transferred
 * buffer instead of deserialising thousands of cloned strings. The events' JSON texts travel as
 * UTF-8 bytes, and stay bytes on the main thread (`rawUtf8`: stores write them as they are).
 */
export interface PreparedColumns {
  /** The short string fields of every event, one after another: key, type, email, message id. */
  text: Uint8Array;
  /**
   * True when every field is ASCII: `text` is then latin1 (one byte a character, the cheapest to
   * slice), else UTF-16LE (code units as they are, so even a lone surrogate comes back unchanged).
   */
  ascii: boolean;
  /** [start, end) of each field in `text`, 4 per event; a start of -1 is `null`. */
  bounds: Int32Array;
  /**
   * The events' JSON texts in UTF-8: the decoded `mandrill_events` bytes themselves when the thread
   * read the events from them (moved to the main thread, not copied), else the texts one after another.
   */
  raws: Uint8Array;
  /** [start, end) of each event's text in `raws`, 2 per event. */
  rawBounds: Int32Array;
  /** Each event's `eventAt`; NaN is `null`. */
  eventAts: Float64Array;
  /** Indexes of the events stored as done. */
  done: number[];
  /** [index, effects] of the events with suppression effects. */
  effects: [number, SuppressionEffect[]][];
}

const FIELDS = 4;

/** Where the events' texts already are as UTF-8: the bytes they were read from, and their ranges. */
export interface RawSource {
  /**
   * A view of memory that holds nothing else anyone keeps (decodeFormBytes' output): a parse thread
   * moves all of it to the main thread with the columns.
   */
  bytes: Uint8Array;
  /** [start, end) of each event's text in `bytes`, 2 per event (parseMandrillEventsBytesWithRanges). */
  ranges: readonly number[];
}

/** The events' JSON texts as UTF-8 and the range of each (see PreparedColumns). */
function packRaws(
  inputs: readonly InboxEventInput[],
  source: RawSource | undefined,
): { raws: Uint8Array; rawBounds: Int32Array } {
  if (source !== undefined && source.ranges.length === 2 * inputs.length)
    return { raws: source.bytes, rawBounds: Int32Array.from(source.ranges) };
  // Room for the worst case (3 bytes of UTF-8 per UTF-16 unit) rather than measuring each text first.
  // A text is source text decoded from the body, so it holds no lone surrogate that UTF-8 would alter.
  let room = 0;
  for (const e of inputs) room += e.raw.length * 3;
  // Its own memory (not a slice of Node's shared pool), so it can be transferred.
  const raws = Buffer.allocUnsafeSlow(room);
  const rawBounds = new Int32Array(2 * inputs.length);
  let at = 0;
  for (let i = 0; i < inputs.length; i++) {
    rawBounds[2 * i] = at;
    at += raws.write((inputs[i] as InboxEventInput).raw, at, "utf8");
    rawBounds[2 * i + 1] = at;
  }
  return { raws, rawBounds };
}

/**
 * Packs inbox inputs into {@link PreparedColumns}. With `source` (the bytes the events were read
 * from), the texts are those bytes: nothing is copied.
 */
export function packInputs(inputs: readonly InboxEventInput[], source?: RawSource): PreparedColumns {
  const n = inputs.length;
  const strings: (string | null)[] = new Array(n * FIELDS);
  let ascii = true;
  let chars = 0;
  for (let i = 0; i < n; i++) {
    const e = inputs[i] as InboxEventInput;
    const at = i * FIELDS;
    strings[at] = e.key;
    strings[at + 1] = e.type;
    strings[at + 2] = e.email;
    strings[at + 3] = e.messageId;
    for (let f = 0; f < FIELDS; f++) {
      const value = strings[at + f];
      if (value === null || value === undefined) continue;
      chars += value.length;
      // One non-ASCII field makes the whole text UTF-16: the rest need no byte count.
      if (ascii && Buffer.byteLength(value, "utf8") !== value.length) ascii = false;
    }
  }
  const encoding = ascii ? "latin1" : "utf16le";
  // Its own memory (not a slice of Node's shared pool), so it can be transferred.
  const text = Buffer.allocUnsafeSlow(ascii ? chars : 2 * chars);
  const bounds = new Int32Array(n * FIELDS * 2);
  const eventAts = new Float64Array(n);
  const done: number[] = [];
  const effects: [number, SuppressionEffect[]][] = [];
  let pos = 0;
  for (let k = 0; k < strings.length; k++) {
    const value = strings[k];
    if (value === null || value === undefined) {
      bounds[2 * k] = -1;
      bounds[2 * k + 1] = -1;
      continue;
    }
    bounds[2 * k] = pos;
    pos += text.write(value, pos, encoding);
    bounds[2 * k + 1] = pos;
  }
  for (let i = 0; i < n; i++) {
    const e = inputs[i] as InboxEventInput;
    eventAts[i] = e.eventAt === null ? Number.NaN : e.eventAt;
    if (e.state === "done") done.push(i);
    if (e.effects !== undefined && e.effects.length > 0) effects.push([i, [...e.effects]]);
  }
  return { text, ascii, bounds, ...packRaws(inputs, source), eventAts, done, effects };
}

/** What a parse job decided. */
export type ParseJobResult =
  | { kind: "refusal"; refusal: Refusal }
  | { kind: "validation" }
  /** A verified batch whose `mandrill_events` is exactly `[]`. */
  | { kind: "empty"; keyIndex: number }
  | {
      kind: "unreadable";
      keyIndex: number;
      reason: "invalid-json" | "not-an-array";
      message: string;
      /** The verified value, kept whole in the quarantine. */
      mandrillEvents: string;
    }
  | {
      kind: "batch";
      keyIndex: number;
      columns: PreparedColumns;
      problemCount: number;
      /** The first five problems (for the log line). */
      problems: EventProblem[];
    };

const isEmptyArray = (b: Uint8Array) => b.length === 2 && b[0] === 0x5b && b[1] === 0x5d;

/** Runs the job (in whichever thread calls it). */
export function runParseJob(input: ParseJobInput): ParseJobResult {
  const headers: Record<string, string> = {};
  if (input.contentType !== undefined) headers["content-type"] = input.contentType;
  if (input.signature !== undefined) headers["x-mandrill-signature"] = input.signature;
  const body = Buffer.isBuffer(input.body)
    ? input.body
    : Buffer.from(input.body.buffer, input.body.byteOffset, input.body.byteLength);
  const verified = verifyRequest({
    method: "POST",
    headers,
    body,
    account: input.account,
    callbackUrl: input.callbackUrl,
    keys: input.keys,
  });
  if (!verified.ok) {
    const { form, ...rest } = verified;
    // A plain object (the decoded form has no prototype, which a structured clone would not keep).
    return { kind: "refusal", refusal: form === undefined ? rest : { ...rest, form: { ...form } } };
  }
  if (verified.kind === "probe")
    throw new MandrillKitError("ERR_MK_INTERNAL", "a parse job was given a URL check, not a POST");
  if (verified.kind === "validation") return { kind: "validation" };
  const { keyIndex } = verified;
  const bytes = verified.mandrillEventsBytes as Uint8Array;
  if (isEmptyArray(bytes)) return { kind: "empty", keyIndex };
  // Read per event from the bytes (quicker here than one string and one JSON.parse, ASCII or not), which
  // also tells where each event's text is: those bytes then travel as the texts, uncopied.
  const { outcome: parsed, ranges } = parseMandrillEventsBytesWithRanges(bytes);
  if (!parsed.ok)
    return {
      kind: "unreadable",
      keyIndex,
      reason: parsed.reason,
      message: parsed.message,
      mandrillEvents: verified.mandrillEvents,
    };
  const inputs = inboxInputs(parsed.events, input.policy, input.receivedAt, new Set(input.skipHandlersFor));
  const columns = packInputs(inputs, ranges === undefined ? undefined : { bytes, ranges });
  return {
    kind: "batch",
    keyIndex,
    columns,
    problemCount: parsed.problems.length,
    problems: parsed.problems.slice(0, 5),
  };
}

/**
 * The inbox inputs of a prepared batch, as `inboxInputs` built them; each event's text is a view of
 * the transferred UTF-8 (`rawUtf8`), decoded into `raw` only if something reads it.
 */
export function inputsFromColumns(columns: PreparedColumns): InboxEventInput[] {
  const { bounds, eventAts, rawBounds } = columns;
  const text = Buffer.from(columns.text.buffer, columns.text.byteOffset, columns.text.byteLength);
  const encoding = columns.ascii ? "latin1" : "utf16le";
  const field = (k: number): string | null =>
    (bounds[2 * k] as number) === -1
      ? null
      : text.toString(encoding, bounds[2 * k] as number, bounds[2 * k + 1] as number);
  const n = eventAts.length;
  const states: ("pending" | "done")[] = new Array(n).fill("pending");
  for (const i of columns.done) states[i] = "done";
  const effects: SuppressionEffect[][] = new Array(n);
  for (const [i, list] of columns.effects) effects[i] = list;
  const { buffer, byteOffset } = columns.raws;
  const inputs: InboxEventInput[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const at = i * FIELDS;
    const eventAt = eventAts[i] as number;
    const start = rawBounds[2 * i] as number;
    const fields = {
      key: field(at) as string,
      type: field(at + 1) as string,
      email: field(at + 2),
      messageId: field(at + 3),
      eventAt: Number.isNaN(eventAt) ? null : eventAt,
      effects: effects[i] ?? [],
      state: states[i] as "pending" | "done",
    };
    const rawUtf8 = Buffer.from(buffer, byteOffset + start, (rawBounds[2 * i + 1] as number) - start);
    inputs[i] = new Utf8InboxEvent(fields, rawUtf8);
  }
  return inputs;
}
