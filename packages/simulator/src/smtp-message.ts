import { normalizeEmail } from "@mandrill-kit/core";
import type { AddressObject, ParsedMail } from "mailparser";

/** An SMTP message converted into the `messages/send[-template]` call Mandrill would make of it (docs/mandrill.md#how-mandrill-handles-smtp-mail). */
export interface SmtpApiCall {
  params: Record<string, unknown>;
  withTemplate: boolean;
  /** Every `X-MC-*` header as received: lower-cased name → decoded values. */
  mcHeaders: Record<string, string[]>;
}

const TRUE = ["true", "on", "yes", "y", "1"];
const FALSE = ["false", "off", "no", "n", "0"];

/** Decodes RFC 2047 encoded words (`=?UTF-8?Q?…?=`, `=?UTF-8?B?…?=`), as clients encode header values. */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/(\?=)\s+(?==\?)/g, "$1")
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (word, charset: string, encoding: string, text: string) => {
      try {
        const bytes =
          encoding.toUpperCase() === "B"
            ? Buffer.from(text, "base64")
            : Buffer.from(
                text
                  .replace(/_/g, " ")
                  .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
                "latin1",
              );
        return new TextDecoder(charset.split("*")[0]).decode(bytes);
      } catch {
        return word;
      }
    });
}

/** Mandrill's boolean header vocabulary (docs/mandrill.md#x-mc-headers); anything else is ignored. */
function bool(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  return undefined;
}

function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function jsonObject(value: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function addresses(
  field: AddressObject | AddressObject[] | undefined,
): Array<{ address: string; name: string }> {
  const objects = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return objects.flatMap((o) =>
    o.value.flatMap((a) => (typeof a.address === "string" ? [{ address: a.address, name: a.name }] : [])),
  );
}

/** The headers passed through as `message.headers`: Reply-To, List-*, and custom `X-` headers. */
function passThrough(name: string): boolean {
  const n = name.toLowerCase();
  return n === "reply-to" || n.startsWith("list-") || (n.startsWith("x-") && !n.startsWith("x-mc-"));
}

/**
 * Converts a parsed SMTP message and its envelope into a Mandrill API call, honouring the `X-MC-*`
 * headers of docs/mandrill.md#x-mc-headers. Recipients are the envelope's `RCPT TO` addresses: `to` when in the `To`
 * header, `cc` when in `Cc`, else `bcc`. `X-MC-GlobalMergeVars` is not an official header and is
 * ignored (kept in `mcHeaders`).
 */
export function smtpToApiCall(parsed: ParsedMail, envelopeTo: readonly string[]): SmtpApiCall {
  const mcHeaders: Record<string, string[]> = {};
  const mc = new Map<string, string[]>();
  const headers: Record<string, string> = {};
  for (const { line } of parsed.headerLines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = decodeEncodedWords(
      line
        .slice(colon + 1)
        .replace(/\r?\n[ \t]+/g, " ")
        .trim(),
    );
    const lower = name.toLowerCase();
    if (lower.startsWith("x-mc-")) {
      mcHeaders[lower] = [...(mcHeaders[lower] ?? []), value];
      mc.set(lower, [...(mc.get(lower) ?? []), value]);
    } else if (passThrough(name)) {
      headers[name] = value;
    }
  }
  const one = (name: string) => mc.get(name)?.at(-1);

  const toHeader = new Set(addresses(parsed.to).map((a) => normalizeEmail(a.address)));
  const ccHeader = new Set(addresses(parsed.cc).map((a) => normalizeEmail(a.address)));
  const names = new Map(
    [...addresses(parsed.to), ...addresses(parsed.cc)].map((a) => [normalizeEmail(a.address), a.name]),
  );
  const to = envelopeTo.map((email) => {
    const n = normalizeEmail(email);
    const type = toHeader.has(n) ? "to" : ccHeader.has(n) ? "cc" : "bcc";
    const name = names.get(n);
    return { email, ...(name ? { name } : {}), type };
  });

  const from = addresses(parsed.from)[0];
  // MIME encoding ends each body part with a line break the sender did not write.
  const html = typeof parsed.html === "string" ? parsed.html.replace(/\r?\n$/, "") : undefined;
  const text = parsed.text?.replace(/\r?\n$/, "");
  const message: Record<string, unknown> = {
    to,
    ...(from === undefined
      ? {}
      : { from_email: from.address, ...(from.name ? { from_name: from.name } : {}) }),
    ...(parsed.subject === undefined ? {} : { subject: parsed.subject }),
    ...(html === undefined ? {} : { html }),
    ...(text === undefined ? {} : { text }),
    headers,
  };
  const attachments = parsed.attachments.filter((a) => !(a.related && a.cid));
  const images = parsed.attachments.filter((a) => a.related && a.cid);
  if (attachments.length > 0) {
    message.attachments = attachments.map((a) => ({
      type: a.contentType,
      name: a.filename ?? "attachment",
      content: a.content.toString("base64"),
    }));
  }
  if (images.length > 0) {
    message.images = images.map((a) => ({
      type: a.contentType,
      name: a.cid,
      content: a.content.toString("base64"),
    }));
  }

  const tags = one("x-mc-tags");
  if (tags !== undefined) message.tags = list(tags);
  const track = one("x-mc-track");
  if (track !== undefined) {
    const items = list(track.toLowerCase());
    message.track_opens = items.includes("opens");
    message.track_clicks = items.some((i) => i.startsWith("clicks"));
  }
  const booleans: Array<[string, string]> = [
    ["x-mc-autotext", "auto_text"],
    ["x-mc-autohtml", "auto_html"],
    ["x-mc-inlinecss", "inline_css"],
    ["x-mc-urlstripqs", "url_strip_qs"],
    ["x-mc-preserverecipients", "preserve_recipients"],
    ["x-mc-viewcontentlink", "view_content_link"],
    ["x-mc-important", "important"],
  ];
  for (const [header, field] of booleans) {
    const v = one(header);
    const b = v === undefined ? undefined : bool(v);
    if (b !== undefined) message[field] = b;
  }
  const strings: Array<[string, string]> = [
    ["x-mc-subaccount", "subaccount"],
    ["x-mc-trackingdomain", "tracking_domain"],
    ["x-mc-signingdomain", "signing_domain"],
    ["x-mc-returnpathdomain", "return_path_domain"],
    ["x-mc-bccaddress", "bcc_address"],
    ["x-mc-googleanalyticscampaign", "google_analytics_campaign"],
    ["x-mc-mergelanguage", "merge_language"],
  ];
  for (const [header, field] of strings) {
    const v = one(header);
    if (v !== undefined && v.length > 0) message[field] = v;
  }
  const ga = one("x-mc-googleanalytics");
  if (ga !== undefined) message.google_analytics_domains = list(ga);

  const globalVars: Array<{ name: string; content: unknown }> = [];
  const rcptVars: Array<{ rcpt: string; vars: Array<{ name: string; content: unknown }> }> = [];
  for (const value of mc.get("x-mc-mergevars") ?? []) {
    const obj = jsonObject(value);
    if (obj === undefined) continue;
    const { _rcpt, ...rest } = obj;
    const vars = Object.entries(rest).map(([name, content]) => ({ name, content }));
    if (typeof _rcpt === "string") rcptVars.push({ rcpt: _rcpt, vars });
    else globalVars.push(...vars);
  }
  if (globalVars.length > 0) message.global_merge_vars = globalVars;
  if (rcptVars.length > 0) message.merge_vars = rcptVars;
  if (globalVars.length > 0 || rcptVars.length > 0) message.merge = true;

  const rcptMetadata: Array<{ rcpt: string; values: Record<string, unknown> }> = [];
  for (const value of mc.get("x-mc-metadata") ?? []) {
    const obj = jsonObject(value);
    if (obj === undefined) continue;
    const { _rcpt, ...rest } = obj;
    if (typeof _rcpt === "string") rcptMetadata.push({ rcpt: _rcpt, values: rest });
    else message.metadata = { ...((message.metadata as Record<string, unknown>) ?? {}), ...rest };
  }
  if (rcptMetadata.length > 0) message.recipient_metadata = rcptMetadata;

  const params: Record<string, unknown> = { message };
  const pool = one("x-mc-ippool");
  if (pool !== undefined) params.ip_pool = pool;
  const sendAt = one("x-mc-sendat");
  if (sendAt !== undefined) params.send_at = sendAt;
  const template = one("x-mc-template");
  let withTemplate = false;
  if (template !== undefined && template.length > 0) {
    // `template_name|block_name`: the SMTP body goes into the block, `main` by default (docs/mandrill.md#x-mc-headers).
    const [name = "", block = "main"] = template.split("|").map((s) => s.trim());
    withTemplate = true;
    params.template_name = name;
    params.template_content = [{ name: block || "main", content: html ?? text ?? "" }];
  }
  return { params, withTemplate, mcHeaders };
}
