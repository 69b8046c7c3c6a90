import type { MandrillMessage, MandrillSendStatus } from "@mandrill-kit/core";

/** One recipient of an outbox message, as the send answered and as it was rendered for them. */
export interface OutboxRecipient {
  email: string;
  name: string | null;
  type: "to" | "cc" | "bcc";
  /** What the send response said. */
  status: MandrillSendStatus;
  reject_reason: string | null;
  queued_reason: string | null;
  /** The message `_id` (absent for `invalid` recipients, like Mandrill). */
  _id: string | null;
  /** Subject, HTML and text after templates and merge tags, for this recipient. */
  subject: string | null;
  html: string | null;
  text: string | null;
}

/** What an SMTP submission looked like before it was converted into an API call. */
export interface OutboxSmtpDetails {
  /** The SMTP username (Mandrill ignores it; docs/mandrill.md#smtp-connection-and-authentication). */
  username: string;
  envelope: { from: string | null; to: string[] };
  /** Every `X-MC-*` header as received: lower-cased name → decoded values, in order. */
  mcHeaders: Record<string, string[]>;
  /** The raw RFC 822 message. */
  raw: string;
}

/** One accepted `messages/send[-template]` call, from the API or converted from SMTP. */
export interface OutboxMessage {
  /** Outbox id (`"out-<n>"`), also in the SMTP `250` reply. */
  id: string;
  transport: "api" | "smtp";
  account: string;
  /** The API key that sent it, masked (`••••abcd`). */
  key: string;
  /** Sent with a test key: nothing would leave Mandrill (docs/mandrill.md#api-keys). */
  test: boolean;
  createdAt: number;
  /** The Mandrill `message` object as received (SMTP: as derived from the MIME message and X-MC-* headers). */
  message: MandrillMessage;
  template: { name: string; content: Array<{ name: string; content: string }> } | null;
  async: boolean;
  send_at: string | null;
  ip_pool: string | null;
  from: { email: string; name: string | null };
  subject: string | null;
  html: string | null;
  text: string | null;
  headers: Record<string, string>;
  tags: string[];
  metadata: Record<string, unknown>;
  subaccount: string | null;
  recipients: OutboxRecipient[];
  /** SMTP submissions only. */
  smtp: OutboxSmtpDetails | null;
}

/** An event the simulator emitted (message or sync), with the webhooks it was queued for. */
export interface EmittedEvent {
  seq: number;
  account: string;
  /** `event` for message events, `type` (`blacklist` / `whitelist`) for sync events. */
  type: string;
  messageId: string | null;
  email: string | null;
  at: number;
  /** The event object exactly as posted in `mandrill_events`. */
  payload: Record<string, unknown>;
  webhookIds: number[];
}

/** One HTTP request the webhook dispatcher made, with its answer. */
export interface WebhookDelivery {
  seq: number;
  kind: "batch" | "validation-head" | "validation-post";
  webhookId: number | null;
  /** The registered URL (what is signed). */
  url: string;
  /** Where the request actually went (`webhookTarget`). */
  postedTo: string;
  batchId: string | null;
  attempt: number;
  eventCount: number;
  /** The decoded `mandrill_events` value ("" for HEAD). */
  mandrillEvents: string;
  /** The form-encoded request body ("" for HEAD). */
  body: string;
  requestHeaders: Record<string, string>;
  signature: string | null;
  status: number | null;
  responseBody: string | null;
  error: string | null;
  ok: boolean;
  startedAt: number;
  durationMs: number;
}

/** One API call, like Mandrill's *Settings → API Logs* (SMTP submissions appear as `messages/send`). */
export interface ApiLogEntry {
  seq: number;
  at: number;
  transport: "api" | "smtp";
  method: string;
  /** Masked key, or `null` when none was given. */
  key: string | null;
  ip: string | null;
  /** The request parameters without `key`. */
  request: unknown;
  status: number;
  response: unknown;
}
