/**
 * The Mandrill webhook event model (docs/mandrill.md#message-events, docs/mandrill.md#sync-events and docs/mandrill.md#inbound-events).
 *
 * Each parsed event is an envelope with a kit-computed discriminant `type` and a few checked
 * convenience fields, plus `payload`: the event object exactly as Mandrill sent it, with every key
 * kept (Mandrill adds keys without notice, docs/mandrill.md#webhook-wire-format). Mandrill's own field names are used as
 * Mandrill spells them.
 */

/** Message events, in Mandrill's spelling (docs/mandrill.md#message-events). */
export const MESSAGE_EVENT_TYPES = [
  "send",
  "delivered",
  "deferral",
  "hard_bounce",
  "soft_bounce",
  "open",
  "click",
  "spam",
  "unsub",
  "reject",
] as const;

/** A message event name. */
export type MessageEventType = (typeof MESSAGE_EVENT_TYPES)[number];

/** Sync event types (docs/mandrill.md#sync-events); the wire still says blacklist/whitelist. */
export const SYNC_EVENT_TYPES = ["blacklist", "whitelist"] as const;

/** A sync event type. */
export type SyncEventType = (typeof SYNC_EVENT_TYPES)[number];

/** `action` of a `blacklist` sync event. */
export type BlacklistAction = "add" | "remove" | "change";

/** `action` of a `whitelist` sync event. */
export type WhitelistAction = "add" | "remove";

/** Every event type the kit dispatches on, including `"unknown"` for anything else. */
export type MandrillEventType = MessageEventType | SyncEventType | "inbound" | "unknown";

/** `msg.state` values seen on message events (docs/mandrill.md#message-events). Other strings may appear. */
export type MessageState =
  | "sent"
  | "rejected"
  | "spam"
  | "unsub"
  | "bounced"
  | "soft-bounced"
  | "deferred"
  | "inbound"
  | (string & {});

/** One SMTP delivery attempt in `msg.smtp_events`. */
export interface SmtpEvent {
  ts?: number;
  type?: string;
  diag?: string;
  source_ip?: string;
  destination_ip?: string;
  size?: number;
  [key: string]: unknown;
}

/** The message snapshot (`msg`) carried by message events. Every field may be absent or null. */
export interface MessageSnapshot {
  ts?: number;
  _id?: string;
  _version?: string;
  state?: MessageState;
  subject?: string | null;
  email?: string;
  sender?: string | null;
  tags?: string[] | null;
  opens?: Array<{ ts?: number; [key: string]: unknown }> | null;
  clicks?: Array<{ ts?: number; url?: string; [key: string]: unknown }> | null;
  metadata?: Record<string, unknown> | null;
  subaccount?: string | null;
  template?: string | null;
  smtp_events?: SmtpEvent[] | null;
  resends?: unknown[] | null;
  reject?: RejectEntry | null;
  bounce_description?: string | null;
  bgtools_code?: number | null;
  diag?: string | null;
  [key: string]: unknown;
}

/** Denylist entry as carried by `blacklist` sync events (`reject`) and some `reject` events. */
export interface RejectEntry {
  reason?: string;
  detail?: string | null;
  last_event_at?: string | null;
  email?: string;
  created_at?: string | null;
  expires_at?: string | null;
  expired?: boolean;
  subaccount?: string | null;
  sender?: string | null;
  [key: string]: unknown;
}

/** Allowlist entry as carried by `whitelist` sync events (`entry`). */
export interface AllowlistEntry {
  email?: string;
  detail?: string | null;
  created_at?: string | null;
  [key: string]: unknown;
}

/** The raw JSON of a message event. */
export interface MessageEventPayload<T extends MessageEventType = MessageEventType> {
  event: T;
  ts?: number;
  _id?: string;
  msg?: MessageSnapshot;
  /** `open`/`click` only. */
  ip?: string;
  user_agent?: string;
  user_agent_parsed?: Record<string, unknown> | null;
  location?: Record<string, unknown> | null;
  /** `click` only. */
  url?: string;
  [key: string]: unknown;
}

/** The raw JSON of a sync event. */
export interface SyncEventPayload<T extends SyncEventType = SyncEventType> {
  type: T;
  action?: T extends "blacklist" ? BlacklistAction : WhitelistAction;
  ts?: number;
  reject?: RejectEntry;
  entry?: AllowlistEntry;
  [key: string]: unknown;
}

/** The inbound message of an `inbound` event (docs/mandrill.md#inbound-events). */
export interface InboundMessage {
  raw_msg?: string;
  headers?: Record<string, string | string[]>;
  text?: string | null;
  text_flowed?: boolean;
  html?: string | null;
  from_email?: string;
  from_name?: string | null;
  to?: Array<[string, string | null]>;
  cc?: Array<[string, string | null]>;
  email?: string;
  subject?: string | null;
  tags?: string[];
  sender?: string | null;
  template?: string | null;
  spam_report?: { score?: number; matched_rules?: unknown[]; [key: string]: unknown };
  dkim?: { signed?: boolean; valid?: boolean };
  spf?: { result?: string; detail?: string };
  attachments?: Record<string, { name?: string; type?: string; content?: string; base64?: boolean }>;
  images?: Record<string, { name?: string; type?: string; content?: string; base64?: boolean }>;
  [key: string]: unknown;
}

/** The raw JSON of an inbound event. */
export interface InboundEventPayload {
  event: "inbound";
  ts?: number;
  msg?: InboundMessage;
  [key: string]: unknown;
}

interface EventEnvelope {
  /** Position of the event in its batch (0-based). */
  index: number;
  /** Event time (Unix seconds, as Mandrill sends it), or `null` when absent or not a number. */
  ts: number | null;
  /** The exact JSON text of this event within the batch, byte for byte. */
  rawJson: string;
}

/** A message event: `send`, `delivered`, `deferral`, bounces, `open`, `click`, `spam`, `unsub`, `reject`. */
export interface MessageEvent<T extends MessageEventType = MessageEventType> extends EventEnvelope {
  category: "message";
  type: T;
  /** The message `_id` (top-level `_id`, else `msg._id`), or `null`. */
  messageId: string | null;
  /** The recipient, normalised (see `normalizeEmail`), or `null` when missing or invalid. */
  email: string | null;
  payload: MessageEventPayload<T>;
}

/** A `blacklist` (denylist) sync event. */
export interface BlacklistEvent extends EventEnvelope {
  category: "sync";
  type: "blacklist";
  action: BlacklistAction | null;
  email: string | null;
  messageId: null;
  payload: SyncEventPayload<"blacklist">;
}

/** A `whitelist` (allowlist) sync event. */
export interface WhitelistEvent extends EventEnvelope {
  category: "sync";
  type: "whitelist";
  action: WhitelistAction | null;
  email: string | null;
  messageId: null;
  payload: SyncEventPayload<"whitelist">;
}

/** A sync event. */
export type SyncEvent = BlacklistEvent | WhitelistEvent;

/** An inbound email delivered by an inbound route. */
export interface InboundEvent extends EventEnvelope {
  category: "inbound";
  type: "inbound";
  /** The address the message was received for (`msg.email`), normalised, or `null`. */
  email: string | null;
  messageId: null;
  payload: InboundEventPayload;
}

/**
 * Anything the kit does not know yet: a new event name, an element that is not an object. Kept whole
 * so nothing Mandrill sends is lost.
 */
export interface UnknownEvent extends EventEnvelope {
  category: "unknown";
  type: "unknown";
  /** The `event` (or `type`) string the item carried, if any. */
  name: string | null;
  email: string | null;
  messageId: string | null;
  payload: unknown;
}

/** Any parsed Mandrill webhook event. Narrow on `type`. */
export type MandrillEvent = MessageEvent | SyncEvent | InboundEvent | UnknownEvent;

/** The event variant for a given `type`, e.g. `EventOfType<"hard_bounce">`. */
export type EventOfType<T extends MandrillEventType> = T extends MessageEventType
  ? MessageEvent<T>
  : T extends "blacklist"
    ? BlacklistEvent
    : T extends "whitelist"
      ? WhitelistEvent
      : T extends "inbound"
        ? InboundEvent
        : UnknownEvent;

/** True for the message event names of docs/mandrill.md#message-events. */
export function isMessageEventType(name: unknown): name is MessageEventType {
  return typeof name === "string" && (MESSAGE_EVENT_TYPES as readonly string[]).includes(name);
}
