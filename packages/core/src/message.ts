/**
 * The Mandrill send model: the `message` object of `messages/send` (docs/mandrill.md#send-request) and the per-recipient
 * results (docs/mandrill.md#send-response), plus the kit's own `suppressed` and `unknown` statuses.
 */

/** A recipient of a Mandrill message. */
export interface MandrillRecipient {
  email: string;
  name?: string;
  /** @default "to" */
  type?: "to" | "cc" | "bcc";
}

/** A merge variable `{name, content}`. Names are case-insensitive and must not start with `_`. */
export interface MergeVar {
  name: string;
  content: unknown;
}

/** Per-recipient merge variables. */
export interface RecipientMergeVars {
  rcpt: string;
  vars: MergeVar[];
}

/** Per-recipient metadata. */
export interface RecipientMetadata {
  rcpt: string;
  values: Record<string, string | number>;
}

/** An attachment or inline image; `content` is base64. For images, `name` is the Content-ID (`cid:name`). */
export interface MandrillAttachment {
  type: string;
  name: string;
  content: string;
}

/** The `message` object of `messages/send` / `messages/send-template`, as Mandrill spells it. */
export interface MandrillMessage {
  html?: string;
  text?: string;
  subject?: string;
  from_email?: string;
  from_name?: string;
  to: MandrillRecipient[];
  headers?: Record<string, string>;
  important?: boolean;
  track_opens?: boolean | null;
  track_clicks?: boolean | null;
  auto_text?: boolean | null;
  auto_html?: boolean | null;
  inline_css?: boolean | null;
  url_strip_qs?: boolean | null;
  preserve_recipients?: boolean | null;
  view_content_link?: boolean | null;
  bcc_address?: string;
  tracking_domain?: string;
  signing_domain?: string;
  return_path_domain?: string;
  merge?: boolean;
  merge_language?: "mailchimp" | "handlebars";
  global_merge_vars?: MergeVar[];
  merge_vars?: RecipientMergeVars[];
  tags?: string[];
  subaccount?: string;
  google_analytics_domains?: string[];
  google_analytics_campaign?: string;
  metadata?: Record<string, string | number>;
  recipient_metadata?: RecipientMetadata[];
  attachments?: MandrillAttachment[];
  images?: MandrillAttachment[];
}

/** Template content block for `messages/send-template`. */
export interface TemplateContent {
  name: string;
  content: string;
}

/** The body of `messages/send` (without `key`, which the transport adds). */
export interface MandrillSendRequest {
  message: MandrillMessage;
  async?: boolean;
  ip_pool?: string;
  /** `YYYY-MM-DD HH:MM:SS` UTC. */
  send_at?: string;
}

/** The body of `messages/send-template` (without `key`). */
export interface MandrillSendTemplateRequest extends MandrillSendRequest {
  template_name: string;
  template_content: TemplateContent[];
}

/** Statuses Mandrill returns per recipient (docs/mandrill.md#send-response). */
export const MANDRILL_SEND_STATUSES = ["sent", "queued", "scheduled", "rejected", "invalid"] as const;

/** A status Mandrill returns per recipient. */
export type MandrillSendStatus = (typeof MANDRILL_SEND_STATUSES)[number];

/**
 * A recipient's outcome as the kit reports it: Mandrill's statuses, plus
 * - `suppressed`: the kit did not send because the address is on the account's suppression list;
 * - `unknown`: the request may have reached Mandrill but no answer came back (a timeout after the
 *   body was sent). The kit never re-sends these blindly; look for a webhook or `messages/info`.
 */
export type RecipientStatus = MandrillSendStatus | "suppressed" | "unknown";

/** `reject_reason` values (docs/mandrill.md#send-response, plus the observed `recipient-domain-mismatch`). */
export const REJECT_REASONS = [
  "hard-bounce",
  "soft-bounce",
  "spam",
  "unsub",
  "custom",
  "invalid-sender",
  "invalid",
  "test-mode-limit",
  "unsigned",
  "rule",
  "recipient-domain-mismatch",
] as const;

/** A known `reject_reason`. Other strings may appear and are kept. */
export type RejectReason = (typeof REJECT_REASONS)[number];

/** `queued_reason` values (docs/mandrill.md#send-response). */
export const QUEUED_REASONS = [
  "attachments",
  "multiple-recipients",
  "free-trial-sends-exhausted",
  "hourly-quota-exhausted",
  "monthly-limit-reached",
  "sending-paused",
  "sending-suspended",
  "account-suspended",
  "sending-backlogged",
] as const;

/** A known `queued_reason`. */
export type QueuedReason = (typeof QUEUED_REASONS)[number];

/** One element of Mandrill's `messages/send` response. */
export interface MandrillSendResponseItem {
  email: string;
  status: MandrillSendStatus;
  reject_reason?: RejectReason | (string & {}) | null;
  queued_reason?: QueuedReason | (string & {}) | null;
  _id?: string;
}

/**
 * Reasons that say something about the *recipient*: the address should not be mailed again
 * (docs/design.md#suppression-policy). `custom` is an entry of the account's own manual denylist
 * (docs/mandrill.md#rejection-denylist): the account asked not to mail that address.
 */
export const RECIPIENT_SIDE_REJECT_REASONS = [
  "hard-bounce",
  "soft-bounce",
  "spam",
  "unsub",
  "invalid",
  "custom",
] as const;

/**
 * Reasons that say something about the *sender's configuration* (unverified domain, trial limits,
 * rules): never suppress the recipient for these; surface them as a configuration problem.
 */
export const SENDER_SIDE_REJECT_REASONS = [
  "unsigned",
  "invalid-sender",
  "test-mode-limit",
  "rule",
  "recipient-domain-mismatch",
] as const;

/** Which side a reject reason blames. `unknown` for a reason Mandrill added that the kit does not know. */
export type RejectSide = "recipient" | "sender" | "unknown";

/** Classifies a `reject_reason` (see {@link RECIPIENT_SIDE_REJECT_REASONS}). */
export function rejectReasonSide(reason: string | null | undefined): RejectSide {
  if (typeof reason !== "string") return "unknown";
  if ((RECIPIENT_SIDE_REJECT_REASONS as readonly string[]).includes(reason)) return "recipient";
  if ((SENDER_SIDE_REJECT_REASONS as readonly string[]).includes(reason)) return "sender";
  return "unknown";
}

/** The kit's per-recipient result of a send. */
export interface RecipientResult {
  /** The address as the caller gave it (trimmed). */
  email: string;
  status: RecipientStatus;
  /** Mandrill's message `_id`, when there is one. */
  messageId: string | null;
  /** For `rejected`: Mandrill's `reject_reason`. For `suppressed`: the suppression's reason. */
  rejectReason: string | null;
  /** For `rejected`/`suppressed`: which side the reason blames. */
  rejectSide: RejectSide | null;
  /** For `queued`: Mandrill's `queued_reason`. */
  queuedReason: string | null;
}

/** The result of one send through the kit. */
export interface SendResult {
  account: string;
  transport: "api" | "smtp";
  /** Correlation id the kit put in the message metadata (`mk_correlation_id`) to map webhooks back. */
  correlationId: string;
  recipients: RecipientResult[];
}
