import {
  type MandrillAttachment,
  MandrillKitValidationError,
  type MandrillMessage,
  type MandrillRecipient,
  type MandrillSettings,
  normalizeEmail,
} from "@mandrill-kit/core";

/** A recipient: an address, or an address with a display name. */
export type Recipient = string | { email: string; name?: string };

/** A file to attach, or an inline image (referenced from HTML as `cid:<name>`). */
export interface Attachment {
  /** File name; for inline images, the Content-ID used as `cid:<name>`. */
  name: string;
  /** MIME type, e.g. `"application/pdf"`, `"image/png"`. */
  type: string;
  /** The bytes, or their base64 text. */
  content: Buffer | Uint8Array | string;
}

/** Which of Mandrill's merge languages the template or body uses. */
export type MergeLanguage = "mailchimp" | "handlebars";

/**
 * What a host route sends. The From address, From name and Reply-To default to the account's
 * settings; everything else maps to Mandrill's `message` fields (docs/mandrill.md#send-request). Never mutated.
 */
export interface SendMessage {
  to: Recipient | readonly Recipient[];
  cc?: Recipient | readonly Recipient[];
  bcc?: Recipient | readonly Recipient[];
  subject?: string;
  html?: string;
  text?: string;
  /** @default the account's From address and name */
  from?: { email?: string; name?: string };
  /** @default the account's Reply-To */
  replyTo?: string;
  /** Extra headers (Mandrill allows most). `List-Unsubscribe` here overrides one-click mode. */
  headers?: Readonly<Record<string, string>>;
  /** ≤ 50 characters each, not starting with "_". */
  tags?: readonly string[];
  /** Scalar values; searchable in Mandrill; echoed in webhooks. */
  metadata?: Readonly<Record<string, string | number>>;
  /** Per-recipient metadata, by address. */
  recipientMetadata?: Readonly<Record<string, Readonly<Record<string, string | number>>>>;
  /** Global merge variables (`*|NAME|*`). */
  mergeVars?: Readonly<Record<string, unknown>>;
  /** Per-recipient merge variables, by address. */
  recipientMergeVars?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  mergeLanguage?: MergeLanguage;
  /** Send a stored Mandrill template (`messages/send-template`; over SMTP `X-MC-Template`). */
  template?: { name: string; content?: Readonly<Record<string, string>> };
  attachments?: readonly Attachment[];
  /** Inline images (`cid:<name>`). */
  images?: readonly Attachment[];
  trackOpens?: boolean;
  trackClicks?: boolean;
  important?: boolean;
  /** Schedule (needs a positive Mandrill balance). */
  sendAt?: Date;
  /** @default the account's subaccount */
  subaccount?: string;
  ipPool?: string;
  /** Queue at Mandrill and answer at once (every recipient comes back `queued`). */
  async?: boolean;
  /** Show every recipient in To (off: each gets an individual copy). */
  preserveRecipients?: boolean;
}

/** A recipient after checks: original address, normalised address, kind. */
export interface ResolvedRecipient {
  email: string;
  normalized: string;
  name: string | undefined;
  type: "to" | "cc" | "bcc";
}

function listOf(value: Recipient | readonly Recipient[] | undefined): readonly Recipient[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly Recipient[]) : [value as Recipient];
}

/** Checks and flattens the recipients; throws `ERR_MK_VALIDATION_FAILED` naming each bad one. */
export function resolveRecipients(message: SendMessage): ResolvedRecipient[] {
  const out: ResolvedRecipient[] = [];
  const errors: { field: string; message: string }[] = [];
  const seen = new Set<string>();
  for (const type of ["to", "cc", "bcc"] as const) {
    listOf(message[type]).forEach((r, i) => {
      const email = (typeof r === "string" ? r : r?.email)?.trim();
      const normalized = normalizeEmail(email);
      if (email === undefined || normalized === undefined) {
        errors.push({ field: `${type}[${i}]`, message: "is not a valid email address" });
        return;
      }
      if (seen.has(normalized)) return;
      seen.add(normalized);
      out.push({ email, normalized, name: typeof r === "string" ? undefined : r.name, type });
    });
  }
  if (out.length === 0 && errors.length === 0)
    errors.push({ field: "to", message: "needs at least one recipient" });
  if (errors.length > 0) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      `The message's recipients are not valid: ${errors.map((e) => `${e.field} ${e.message}`).join("; ")}.`,
      errors,
    );
  }
  return out;
}

// RFC 5322 field names: printable ASCII without ":" or space.
const HEADER_NAME = /^[!-9;-~]{1,200}$/;
// CR or LF would end the header and start another (header injection); NUL is never valid.
const HEADER_BREAK = /[\r\n\0]/;

/**
 * Refuses extra headers that could inject others: a name that is not an RFC 5322 field name, or a
 * name or value containing CR, LF or NUL. Both transports call it before anything is sent, so the
 * API refuses what SMTP would otherwise quietly fold. Throws `ERR_MK_VALIDATION_FAILED`.
 */
export function checkHeaders(headers: SendMessage["headers"]): void {
  const errors: { field: string; message: string }[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    const field = `headers[${JSON.stringify(name.replace(/[^\x20-\x7e]/g, "?"))}]`;
    if (!HEADER_NAME.test(name))
      errors.push({
        field,
        message: "is not a valid header name (printable ASCII, no colon, no spaces or line breaks)",
      });
    else if (typeof value !== "string" || HEADER_BREAK.test(value))
      errors.push({ field, message: "must be text on one line (no CR, LF or NUL)" });
  }
  if (errors.length > 0) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      `The message's headers are not valid: ${errors.map((e) => `${e.field} ${e.message}`).join("; ")}.`,
      errors,
    );
  }
}

function base64(content: Attachment["content"]): string {
  return typeof content === "string" ? content : Buffer.from(content).toString("base64");
}

function attachments(list: readonly Attachment[] | undefined): MandrillAttachment[] | undefined {
  return list?.map((a) => ({ type: a.type, name: a.name, content: base64(a.content) }));
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, Mandrill's time format. */
export function mandrillTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/**
 * Builds Mandrill's `message` object for the recipients that will actually be sent to (suppressed
 * ones already removed), with the account's defaults and the kit's correlation id in metadata.
 */
export function toMandrillMessage(
  message: SendMessage,
  settings: MandrillSettings,
  recipients: readonly ResolvedRecipient[],
  correlationId: string,
  extraHeaders: Readonly<Record<string, string>> = {},
): MandrillMessage {
  const keep = new Set(recipients.map((r) => r.normalized));
  const forKept = <T>(byAddress: Readonly<Record<string, T>> | undefined) =>
    Object.entries(byAddress ?? {}).filter(([address]) => keep.has(normalizeEmail(address) ?? ""));
  const replyTo = message.replyTo ?? settings.replyTo ?? undefined;
  const headers: Record<string, string> = { ...extraHeaders, ...(message.headers ?? {}) };
  if (replyTo !== undefined && headers["Reply-To"] === undefined) headers["Reply-To"] = replyTo;
  const to: MandrillRecipient[] = recipients.map((r) => ({
    email: r.email,
    type: r.type,
    ...(r.name === undefined ? {} : { name: r.name }),
  }));
  const out: MandrillMessage = {
    to,
    from_email: message.from?.email ?? settings.fromEmail,
    ...((message.from?.name ?? settings.fromName)
      ? { from_name: message.from?.name ?? settings.fromName }
      : {}),
    ...(message.subject === undefined ? {} : { subject: message.subject }),
    ...(message.html === undefined ? {} : { html: message.html }),
    ...(message.text === undefined ? {} : { text: message.text }),
    ...(Object.keys(headers).length === 0 ? {} : { headers }),
    ...(message.tags === undefined ? {} : { tags: [...message.tags] }),
    metadata: { ...(message.metadata ?? {}), mk_correlation_id: correlationId },
    ...(message.trackOpens === undefined ? {} : { track_opens: message.trackOpens }),
    ...(message.trackClicks === undefined ? {} : { track_clicks: message.trackClicks }),
    ...(message.important === undefined ? {} : { important: message.important }),
    ...(message.preserveRecipients === undefined ? {} : { preserve_recipients: message.preserveRecipients }),
    ...((message.subaccount ?? settings.subaccount)
      ? { subaccount: (message.subaccount ?? settings.subaccount) as string }
      : {}),
    ...(message.mergeLanguage === undefined ? {} : { merge_language: message.mergeLanguage }),
  };
  if (message.mergeVars !== undefined) {
    out.global_merge_vars = Object.entries(message.mergeVars).map(([name, content]) => ({ name, content }));
  }
  const rcptVars = forKept(message.recipientMergeVars);
  if (rcptVars.length > 0) {
    out.merge_vars = rcptVars.map(([rcpt, vars]) => ({
      rcpt,
      vars: Object.entries(vars).map(([name, content]) => ({ name, content })),
    }));
  }
  if (out.global_merge_vars !== undefined || out.merge_vars !== undefined) out.merge = true;
  const rcptMeta = forKept(message.recipientMetadata);
  if (rcptMeta.length > 0)
    out.recipient_metadata = rcptMeta.map(([rcpt, values]) => ({ rcpt, values: { ...values } }));
  const att = attachments(message.attachments);
  if (att !== undefined) out.attachments = att;
  const img = attachments(message.images);
  if (img !== undefined) out.images = img;
  return out;
}
