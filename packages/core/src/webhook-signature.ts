import { createHmac } from "node:crypto";

/** Form fields of a webhook POST, form-decoded (`mandrill_events` → its JSON text). */
export type WebhookForm = Readonly<Record<string, string>>;

/**
 * The key Mandrill signs its URL-validation POST (`mandrill_events=[]`) with
 * (docs/mandrill.md#webhook-url-validation).
 */
export const TEST_WEBHOOK_KEY = "test-webhook";

/**
 * `X-Mandrill-Signature` for a POST (docs/mandrill.md#signature-algorithm): HMAC-SHA1, keyed with
 * the webhook key, over the URL exactly as registered followed by each form field's name and value,
 * fields sorted by name; base64.
 * Values are the form-decoded strings, never re-serialised JSON.
 */
export function mandrillSignature(key: string, url: string, form: WebhookForm): string {
  const hmac = createHmac("sha1", key);
  hmac.update(url, "utf8");
  for (const name of Object.keys(form).sort()) {
    hmac.update(name, "utf8");
    hmac.update(form[name] ?? "", "utf8");
  }
  return hmac.digest("base64");
}

/** Mandrill's JSON: compact, `/` escaped as `\/` like PHP's json_encode (docs/mandrill.md#webhook-wire-format). */
export function mandrillJson(events: unknown): string {
  return JSON.stringify(events).replace(/\//g, "\\/");
}

function quotePlus(text: string): string {
  // encodeURIComponent leaves !'()* alone; Mandrill (quote_plus with nothing safe) escapes them too.
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/** Form-encodes fields like Mandrill (`quote_plus`, nothing safe; docs/mandrill.md#webhook-wire-format). */
export function encodeForm(form: WebhookForm): string {
  return Object.entries(form)
    .map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`)
    .join("&");
}

/** A signed webhook POST ready to send: the body, its content type and the signature header. */
export interface SignedWebhook {
  body: string;
  headers: { "content-type": string; "x-mandrill-signature": string; "user-agent": string };
  /** The decoded `mandrill_events` value that was signed. */
  mandrillEvents: string;
  signature: string;
}

/**
 * Builds a webhook request exactly as Mandrill would send it to `url` (the registered Callback URL):
 * `events` (an array, or the `mandrill_events` text itself) serialised like Mandrill, form-encoded,
 * and signed with `key` (docs/mandrill.md#webhook-signature). The simulator posts with it; tests sign
 * their requests with it.
 */
export function signWebhook(options: {
  key: string;
  url: string;
  events: unknown[] | string;
  extraFields?: Record<string, string>;
}): SignedWebhook {
  const mandrillEvents = typeof options.events === "string" ? options.events : mandrillJson(options.events);
  const form = { mandrill_events: mandrillEvents, ...(options.extraFields ?? {}) };
  const signature = mandrillSignature(options.key, options.url, form);
  return {
    body: encodeForm(form),
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-mandrill-signature": signature,
      "user-agent": "Mandrill-Webhook/1.0",
    },
    mandrillEvents,
    signature,
  };
}
