import { TEST_WEBHOOK_KEY, type WebhookForm } from "@mandrill-kit/core/plugin";
import { matchSignature } from "./verify-request.js";

/** Why a signed POST did not verify, as far as the kit can tell (never contains a key). */
export interface SignatureDiagnosis {
  at: number;
  account: string;
  /** Plain-language finding, e.g. "it verifies with http:// instead of https://". */
  finding: string;
  /** What to do. */
  advice: string;
  /** The Callback URL the kit verified against. */
  callbackUrl: string;
}

function variants(url: string): { url: string; what: string; advice: string }[] {
  const out: { url: string; what: string; advice: string }[] = [];
  const swapScheme = url.startsWith("https://")
    ? `http://${url.slice(8)}`
    : url.startsWith("http://")
      ? `https://${url.slice(7)}`
      : undefined;
  if (swapScheme !== undefined) {
    out.push({
      url: swapScheme,
      what: `it verifies with ${swapScheme.slice(0, swapScheme.indexOf(":"))}:// instead of ${url.slice(0, url.indexOf(":"))}://`,
      advice:
        "The URL registered in Mandrill and publicUrl differ in scheme. Make them identical (usually https://) and register the Callback URL again.",
    });
  }
  const [path, query] = url.split("?", 2) as [string, string | undefined];
  const slashed = path.endsWith("/") ? path.slice(0, -1) : `${path}/`;
  out.push({
    url: query === undefined ? slashed : `${slashed}?${query}`,
    what: path.endsWith("/") ? "it verifies without the trailing slash" : "it verifies with a trailing slash",
    advice:
      "Mandrill signs the URL exactly as entered. Paste the Callback URL shown on the settings page, character for character.",
  });
  if (query !== undefined) {
    out.push({
      url: path,
      what: "it verifies without the query string",
      advice: "Register the Callback URL exactly as shown, without adding or removing a query string.",
    });
  }
  return out;
}

/**
 * Tries the likely mistakes (docs/mandrill.md#signature-pitfalls) and returns the first that explains
 * a mismatch: URL scheme, trailing slash, query string, the URL as this server sees it (a proxy in front), the generic
 * `test-webhook` key on a non-empty batch, or no match at all.
 */
export function diagnoseMismatch(input: {
  account: string;
  callbackUrl: string;
  keys: readonly string[];
  form: WebhookForm;
  signature: string | undefined;
  /** The URL rebuilt from the request (Host, protocol): only to explain a proxy mismatch, never to verify. */
  seenUrl?: string;
  at?: number;
}): SignatureDiagnosis {
  const base = { at: input.at ?? Date.now(), account: input.account, callbackUrl: input.callbackUrl };
  if (input.signature === undefined || input.signature === "") {
    return {
      ...base,
      finding: "the request had no X-Mandrill-Signature header",
      advice:
        "Only Mandrill's signed POSTs are accepted. If this was a manual test, sign it (see signWebhook in @mandrill-kit/webhooks/testing).",
    };
  }
  if (input.keys.length === 0) {
    return {
      ...base,
      finding: "the account has no webhook key saved, so nothing can verify (fail closed)",
      advice: "Copy the webhook's key from Mandrill (Settings → Webhooks) into the account's settings.",
    };
  }
  for (const v of variants(input.callbackUrl)) {
    if (matchSignature(input.keys, v.url, input.form, input.signature) !== -1)
      return { ...base, finding: v.what, advice: v.advice };
  }
  if (
    input.seenUrl !== undefined &&
    input.seenUrl !== input.callbackUrl &&
    matchSignature(input.keys, input.seenUrl, input.form, input.signature) !== -1
  ) {
    return {
      ...base,
      finding: `it verifies with the URL this server sees (${input.seenUrl.slice(0, 200)}), not the public Callback URL`,
      advice:
        "Mandrill was given an internal URL, or publicUrl is wrong for how Mandrill reaches you. Set publicUrl to the public address and register that Callback URL in Mandrill.",
    };
  }
  if (matchSignature([TEST_WEBHOOK_KEY], input.callbackUrl, input.form, input.signature) !== -1) {
    return {
      ...base,
      finding:
        "it is signed with Mandrill's generic test-webhook key, which is only accepted for the empty validation POST",
      advice:
        "Copy the webhook's own key from Mandrill (Settings → Webhooks → the key shown for this URL) into the settings.",
    };
  }
  return {
    ...base,
    finding: "it matches none of the saved webhook keys for this URL",
    advice:
      "The key was probably reset in Mandrill or belongs to another webhook. Copy the current key from Mandrill (Settings → Webhooks) into the settings; the previous key stays accepted until you remove it.",
  };
}
