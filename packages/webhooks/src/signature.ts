import { createHmac, timingSafeEqual } from "node:crypto";

/** Form fields of a webhook POST, form-decoded (`mandrill_events` → its JSON text). */
export type WebhookForm = Readonly<Record<string, string>>;

/** The key Mandrill signs its URL-validation POST (`mandrill_events=[]`) with (spec §3.2). */
export const TEST_WEBHOOK_KEY = "test-webhook";

/**
 * `X-Mandrill-Signature` for a POST (spec §4.1): HMAC-SHA1, keyed with the webhook key, over the URL
 * exactly as registered followed by each form field's name and value, fields sorted by name; base64.
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

function sameSignature(expected: string, given: Buffer): boolean {
  const e = Buffer.from(expected, "utf8");
  return e.length === given.length && timingSafeEqual(e, given);
}

/**
 * Index of the key in `keys` whose signature matches `signature` (constant-time compares; every key
 * is tried so the time does not tell which one matched), or -1. A missing or empty header never matches.
 */
export function matchSignature(
  keys: readonly string[],
  url: string,
  form: WebhookForm,
  signature: string | undefined,
): number {
  if (signature === undefined || signature.length === 0 || signature.length > 200) return -1;
  const given = Buffer.from(signature.trim(), "utf8");
  let found = -1;
  keys.forEach((key, i) => {
    if (sameSignature(mandrillSignature(key, url, form), given) && found === -1) found = i;
  });
  return found;
}
