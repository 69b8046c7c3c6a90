import { normalizeEmail } from "./email.js";
import {
  type BlacklistAction,
  type InboundEventPayload,
  isMessageEventType,
  type MandrillEvent,
  type MessageEventPayload,
  type SyncEventPayload,
  type WhitelistAction,
} from "./events.js";

/** A problem found in one event of a batch. The event is still returned (leniency), with this note. */
export interface EventProblem {
  /** Position of the event in the batch. */
  index: number;
  /** Dotted path inside the event, e.g. `"msg.email"`. */
  path: string;
  /** What is wrong, in plain words. */
  message: string;
}

/** A successfully read batch. */
export interface ParsedBatch {
  ok: true;
  /** Every item of the array, in order, each as its variant (unknown ones as `"unknown"`). */
  events: MandrillEvent[];
  /** Shape problems found per event; an empty array when everything looked as documented. */
  problems: EventProblem[];
}

/** A batch that cannot be read as events at all. */
export interface UnreadableBatch {
  ok: false;
  /** `"invalid-json"` or `"not-an-array"`. */
  reason: "invalid-json" | "not-an-array";
  /** Plain-language description. */
  message: string;
}

/** The outcome of {@link parseMandrillEvents}. */
export type ParseOutcome = ParsedBatch | UnreadableBatch;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Splits the top-level JSON array `text` (already known to be valid JSON) into the exact source
 * text of each element. Returns `undefined` if the structure is not what `JSON.parse` saw.
 */
function splitTopLevelArray(text: string): string[] | undefined {
  const parts: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n && text.charCodeAt(i) !== 0x5b /* [ */) i++;
  i++;
  let depth = 0;
  let inString = false;
  let start = -1;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      // Jump to the next quote natively; it ends the string unless an odd run of backslashes escapes it.
      const q = text.indexOf('"', i);
      if (q === -1) return undefined;
      let backslashes = 0;
      for (let b = q - 1; b >= i && text.charCodeAt(b) === 0x5c; b--) backslashes++;
      i = q;
      if (backslashes % 2 === 0) inString = false;
      continue;
    }
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    if (start === -1 && c !== 0x2c && c !== 0x5d) start = i;
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) {
        // the closing bracket of the top-level array
        if (start !== -1) parts.push(text.slice(start, trimEnd(text, i)));
        return parts;
      }
      depth--;
    } else if (c === 0x2c && depth === 0) {
      if (start === -1) return undefined;
      parts.push(text.slice(start, trimEnd(text, i)));
      start = -1;
    }
  }
  return undefined;
}

function trimEnd(text: string, end: number): number {
  let e = end;
  while (e > 0) {
    const c = text.charCodeAt(e - 1);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) e--;
    else break;
  }
  return e;
}

/** Latest accepted event time (Unix seconds, year 5138): beyond it `ts × 1000` stops being a safe integer. */
const MAX_TS = 1e11;

function readTs(item: Json, index: number, problems: EventProblem[]): number | null {
  const ts = item.ts;
  if (typeof ts === "number" && Number.isFinite(ts) && ts >= 0 && ts <= MAX_TS) return ts;
  problems.push({
    index,
    path: "ts",
    message:
      ts === undefined
        ? "is missing"
        : typeof ts !== "number"
          ? "is not a number"
          : "is not a plausible Unix time",
  });
  return null;
}

function readEmail(value: unknown, index: number, path: string, problems: EventProblem[]): string | null {
  if (value === undefined || value === null) {
    problems.push({ index, path, message: "is missing" });
    return null;
  }
  const email = normalizeEmail(value);
  if (email === undefined) {
    problems.push({ index, path, message: "is not a valid email address" });
    return null;
  }
  return email;
}

function classify(item: unknown, index: number, rawJson: string, problems: EventProblem[]): MandrillEvent {
  if (!isObject(item)) {
    problems.push({ index, path: "", message: "is not a JSON object" });
    return {
      category: "unknown",
      type: "unknown",
      name: null,
      index,
      ts: null,
      rawJson,
      email: null,
      messageId: null,
      payload: item,
    };
  }
  const name = item.event;
  if (isMessageEventType(name)) {
    const ts = readTs(item, index, problems);
    const msg = item.msg;
    let email: string | null = null;
    let messageId: string | null = typeof item._id === "string" ? item._id : null;
    if (isObject(msg)) {
      email = readEmail(msg.email, index, "msg.email", problems);
      if (messageId === null && typeof msg._id === "string") messageId = msg._id;
    } else {
      problems.push({ index, path: "msg", message: msg === undefined ? "is missing" : "is not an object" });
    }
    if (messageId === null) problems.push({ index, path: "_id", message: "is missing" });
    return {
      category: "message",
      type: name,
      index,
      ts,
      rawJson,
      messageId,
      email,
      payload: item as MessageEventPayload,
    };
  }
  if (name === "inbound") {
    const ts = readTs(item, index, problems);
    const msg = item.msg;
    let email: string | null = null;
    if (isObject(msg)) email = readEmail(msg.email, index, "msg.email", problems);
    else
      problems.push({ index, path: "msg", message: msg === undefined ? "is missing" : "is not an object" });
    return {
      category: "inbound",
      type: "inbound",
      index,
      ts,
      rawJson,
      email,
      messageId: null,
      payload: item as InboundEventPayload,
    };
  }
  if (name === undefined && (item.type === "blacklist" || item.type === "whitelist")) {
    const ts = readTs(item, index, problems);
    const action = typeof item.action === "string" ? item.action : null;
    if (item.type === "blacklist") {
      const reject = item.reject;
      const validAction = action === "add" || action === "remove" || action === "change";
      if (!validAction) problems.push({ index, path: "action", message: "is not add, remove or change" });
      let email: string | null = null;
      if (isObject(reject)) email = readEmail(reject.email, index, "reject.email", problems);
      else
        problems.push({
          index,
          path: "reject",
          message: reject === undefined ? "is missing" : "is not an object",
        });
      return {
        category: "sync",
        type: "blacklist",
        action: validAction ? (action as BlacklistAction) : null,
        index,
        ts,
        rawJson,
        email,
        messageId: null,
        payload: item as SyncEventPayload<"blacklist">,
      };
    }
    const entry = item.entry ?? item.reject;
    const validAction = action === "add" || action === "remove";
    if (!validAction) problems.push({ index, path: "action", message: "is not add or remove" });
    let email: string | null = null;
    if (isObject(entry)) email = readEmail(entry.email, index, "entry.email", problems);
    else
      problems.push({
        index,
        path: "entry",
        message: entry === undefined ? "is missing" : "is not an object",
      });
    return {
      category: "sync",
      type: "whitelist",
      action: validAction ? (action as WhitelistAction) : null,
      index,
      ts,
      rawJson,
      email,
      messageId: null,
      payload: item as SyncEventPayload<"whitelist">,
    };
  }
  const shownName = typeof name === "string" ? name : typeof item.type === "string" ? item.type : null;
  problems.push({
    index,
    path: name === undefined ? "event" : "event",
    message: shownName === null ? "is missing" : `"${shownName.slice(0, 64)}" is not a known event type`,
  });
  const msg = item.msg;
  return {
    category: "unknown",
    type: "unknown",
    name: shownName,
    index,
    ts:
      typeof item.ts === "number" && Number.isFinite(item.ts) && item.ts >= 0 && item.ts <= MAX_TS
        ? item.ts
        : null,
    rawJson,
    email: isObject(msg) ? (normalizeEmail(msg.email) ?? null) : null,
    messageId: typeof item._id === "string" ? item._id : null,
    payload: item,
  };
}

/**
 * Reads the `mandrill_events` form value of a webhook POST into typed events.
 *
 * Lenient by design (docs/mandrill.md#webhook-wire-format: "new keys may be added without notice"): it never throws, keeps every
 * key of every event, turns anything unrecognised into an `"unknown"` event rather than dropping it,
 * and lists shape problems per event in `problems`. Only text that is not JSON, or JSON that is not
 * an array, is unreadable (`ok: false`). Each event also carries its exact source text (`rawJson`).
 */
export function parseMandrillEvents(text: string): ParseOutcome {
  if (typeof text !== "string") {
    return { ok: false, reason: "invalid-json", message: "mandrill_events is not a string" };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      reason: "invalid-json",
      message: `mandrill_events is not valid JSON (${(error as Error).message.slice(0, 200)})`,
    };
  }
  if (!Array.isArray(parsed)) {
    return {
      ok: false,
      reason: "not-an-array",
      message: `mandrill_events must be a JSON array of events; received a JSON ${parsed === null ? "null" : typeof parsed}`,
    };
  }
  const raws = splitTopLevelArray(text);
  return classifyAll(parsed, raws !== undefined && raws.length === parsed.length ? raws : undefined);
}

/**
 * One event's stored source text (an inbox record's `raw`: exactly one JSON value, as the batch
 * parse kept it) read back as its event, with that text as its `rawJson`: what
 * `parseMandrillEvents(\`[${raw}]\`)` gives for it, without scanning the text a second time.
 * `undefined` when the text is not one JSON value.
 */
export function parseStoredEvent(raw: string): MandrillEvent | undefined {
  // A stored text has no white space around it; any other is trimmed, as a batch's items are.
  let start = 0;
  let end = raw.length;
  while (start < end && isJsonSpace(raw.charCodeAt(start))) start++;
  while (end > start && isJsonSpace(raw.charCodeAt(end - 1))) end--;
  const text = start === 0 && end === raw.length ? raw : raw.slice(start, end);
  let item: unknown;
  try {
    item = JSON.parse(text);
  } catch {
    return undefined;
  }
  return classifyAll([item], [text]).events[0];
}

/** JSON's white space: space, tab, line feed, carriage return. */
const isJsonSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** Each item as its event variant, with its exact source text (or, without it, its re-serialisation). */
export function classifyAll(items: readonly unknown[], raws: readonly string[] | undefined): ParsedBatch {
  const problems: EventProblem[] = [];
  const events: MandrillEvent[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const rawJson = raws !== undefined ? (raws[i] as string) : JSON.stringify(items[i]);
    events[i] = classify(items[i], i, rawJson, problems);
  }
  return { ok: true, events, problems };
}
