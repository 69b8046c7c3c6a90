import { normalizeEmail } from "@mandrill-kit/core";
import type { AccountState, KeyState, TemplateState } from "./account-state.js";
import { MandrillApiError, validationError } from "./api-error.js";
import { parseMandrillTime } from "./mandrill-time.js";
import { fillEditableRegions } from "./merge-tags.js";
import type { OutboxSmtpDetails } from "./records.js";

/** One `messages/send` or `messages/send-template` call, from the API or converted from SMTP. */
export interface SendInput {
  key: KeyState;
  transport: "api" | "smtp";
  /** The call's parameters: `message`, `async`, `send_at`, `ip_pool`, and for templates `template_name`, `template_content`. */
  params: Record<string, unknown>;
  withTemplate: boolean;
  smtp?: OutboxSmtpDetails;
}

type NameValue = { name: string; content: unknown };

/** A send call, read and checked: everything {@link sendMessage} needs besides the account's state. */
export interface SendRequest {
  message: Record<string, unknown>;
  to: Array<{ email: string; name: string | null; type: "to" | "cc" | "bcc" }>;
  template: TemplateState | null;
  templateContent: Array<{ name: string; content: string }>;
  subaccount: string | null;
  tags: string[];
  metadata: Record<string, unknown>;
  from: string;
  fromName: string | null;
  /** When a future `send_at` schedules the message; `null` to send now. */
  sendAt: number | null;
  queued: boolean;
  queuedReason: "multiple-recipients" | null;
  subject: string | null;
  html: string | null;
  text: string | null;
  merge: {
    enabled: boolean;
    language: "handlebars" | "mailchimp";
    globalVars: NameValue[];
    /** Per normalised recipient address. */
    perRecipient: Map<string, NameValue[]>;
  };
  /** `recipient_metadata` values per normalised address. */
  recipientMetadata: Map<string, Record<string, unknown>>;
  headers: Record<string, string>;
}

/** Messages with more than this many recipients are always queued (docs/mandrill.md#send-request). */
const MAX_SYNC_RECIPIENTS = 10;
const YEAR_MS = 366 * 24 * 60 * 60 * 1000;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown, field: string): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string") throw validationError(`${field} must be a string`);
  return value;
}

/** A content field: any string is kept as given (even empty); absent or null → `null`. */
function content(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw validationError(`${field} must be a string`);
  return value;
}

function nameValueList(value: unknown, field: string): NameValue[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw validationError(`${field} must be an array of {name, content}`);
  return value.map((v, i) => {
    if (!isObject(v) || typeof v.name !== "string") throw validationError(`${field}[${i}].name is required`);
    return { name: v.name, content: v.content };
  });
}

function findTemplate(account: AccountState, name: unknown): TemplateState {
  if (typeof name !== "string" || name.length === 0) throw validationError("template_name is required");
  const found = account.templates.get(name) ?? [...account.templates.values()].find((t) => t.name === name);
  if (found === undefined) throw new MandrillApiError("Unknown_Template", `No such template "${name}"`);
  return found;
}

function readRecipients(message: Record<string, unknown>): SendRequest["to"] {
  if (!Array.isArray(message.to)) throw validationError("message.to must be an array of {email, name, type}");
  return message.to.map((r: unknown, i: number) => {
    if (!isObject(r) || typeof r.email !== "string")
      throw validationError(`message.to[${i}].email is required`);
    const type = r.type === "cc" || r.type === "bcc" ? r.type : "to";
    return { email: r.email, name: typeof r.name === "string" ? r.name : null, type } as const;
  });
}

function readTags(message: Record<string, unknown>): string[] {
  const tags = message.tags === undefined || message.tags === null ? [] : message.tags;
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string")) {
    throw validationError("message.tags must be an array of strings");
  }
  const reserved = (tags as string[]).find((t) => t.startsWith("_"));
  if (reserved !== undefined)
    throw validationError(`tag "${reserved}" starts with an underscore, which is reserved`);
  return [...(tags as string[])];
}

/** A future `send_at` (at most a year ahead, on an account with a positive balance), or `null`. */
function readSendAt(params: Record<string, unknown>, account: AccountState, now: number): number | null {
  const sendAtRaw = optionalString(params.send_at, "send_at");
  if (sendAtRaw === null) return null;
  const at = parseMandrillTime(sendAtRaw);
  if (at === undefined) throw validationError(`send_at "${sendAtRaw}" must be "YYYY-MM-DD HH:MM:SS" (UTC)`);
  if (at <= now) return null;
  if (at > now + YEAR_MS) throw validationError("send_at must be at most one year in the future");
  if (account.balance <= 0) {
    throw new MandrillApiError(
      "PaymentRequired",
      "Email scheduling is only available for accounts with a positive balance.",
    );
  }
  return at;
}

/** `{ rcpt, … }` entries of `list`, keyed by normalised address. */
function byRecipient<T>(
  list: unknown,
  read: (entry: Record<string, unknown>) => T | undefined,
): Map<string, T> {
  const found = new Map<string, T>();
  if (!Array.isArray(list)) return found;
  for (const entry of list) {
    if (!isObject(entry) || typeof entry.rcpt !== "string") continue;
    const value = read(entry);
    if (value !== undefined) found.set(normalizeEmail(entry.rcpt) ?? entry.rcpt, value);
  }
  return found;
}

function readHeaders(message: Record<string, unknown>): Record<string, string> {
  const headers: Record<string, string> = {};
  if (isObject(message.headers)) {
    for (const [name, value] of Object.entries(message.headers))
      if (typeof value === "string") headers[name] = value;
  }
  return headers;
}

/**
 * Reads and checks a send call (docs/mandrill.md#send-request), in the order Mandrill reports problems; throws
 * {@link MandrillApiError} for call-level errors.
 */
export function readSendRequest(input: SendInput, now: number): SendRequest {
  const { params } = input;
  const account = input.key.account;
  const message = params.message;
  if (!isObject(message)) throw validationError("message must be an object");
  const to = readRecipients(message);
  const template = input.withTemplate ? findTemplate(account, params.template_name) : null;
  const templateContent = input.withTemplate
    ? nameValueList(params.template_content, "template_content").map((b) => ({
        name: b.name,
        content: b.content === null || b.content === undefined ? "" : String(b.content),
      }))
    : [];
  const subaccount = optionalString(message.subaccount, "message.subaccount");
  if (subaccount !== null && !account.subaccounts.has(subaccount)) {
    throw new MandrillApiError("Unknown_Subaccount", `No subaccount exists with the id '${subaccount}'`);
  }
  const tags = readTags(message);
  const metadata = isObject(message.metadata) ? { ...message.metadata } : {};
  const fromRaw = optionalString(message.from_email, "message.from_email") ?? template?.fromEmail ?? null;
  if (fromRaw === null) throw validationError("message.from_email is required");
  const from = normalizeEmail(fromRaw);
  if (from === undefined) throw validationError(`message.from_email "${fromRaw}": email address is invalid`);
  const fromName = optionalString(message.from_name, "message.from_name") ?? template?.fromName ?? null;
  const sendAt = readSendAt(params, account, now);
  const manyRecipients = to.length > MAX_SYNC_RECIPIENTS;
  return {
    message,
    to,
    template,
    templateContent,
    subaccount,
    tags,
    metadata,
    from,
    fromName,
    sendAt,
    queued: params.async === true || manyRecipients,
    queuedReason: manyRecipients ? "multiple-recipients" : null,
    subject: content(message.subject, "message.subject") ?? template?.subject ?? null,
    html:
      template !== null
        ? fillEditableRegions(template.code ?? "", templateContent)
        : content(message.html, "message.html"),
    text: content(message.text, "message.text") ?? template?.text ?? null,
    merge: {
      enabled: message.merge !== false,
      language: message.merge_language === "handlebars" ? "handlebars" : "mailchimp",
      globalVars: nameValueList(message.global_merge_vars, "message.global_merge_vars"),
      perRecipient: byRecipient(message.merge_vars, (mv) =>
        nameValueList(mv.vars, "message.merge_vars[].vars"),
      ),
    },
    recipientMetadata: byRecipient(message.recipient_metadata, (rm) =>
      isObject(rm.values) ? rm.values : undefined,
    ),
    headers: readHeaders(message),
  };
}
