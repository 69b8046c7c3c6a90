import { mandrillSignature, type WebhookForm } from "../signature.js";

export { TEST_WEBHOOK_KEY } from "../signature.js";
export { eventFixtures, type FixtureOverrides } from "./fixtures.js";

/** Mandrill's JSON: compact, with `/` escaped as `\/` like PHP's json_encode (spec §3.3). */
export function mandrillJson(events: unknown): string {
  return JSON.stringify(events).replace(/\//g, "\\/");
}

function quotePlus(text: string): string {
  // encodeURIComponent leaves !'()* alone; Mandrill (quote_plus with nothing safe) escapes them too.
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/** Form-encodes fields the way Mandrill does (`quote_plus` with nothing safe; spec §3.3). */
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
 * and signed with `key` (spec §4).
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
