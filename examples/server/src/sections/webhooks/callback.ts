import { addressRange, parseIpLiteral } from "@mandrill-kit/core/plugin";
import { html, type SafeHtml } from "../../views/html.js";

/**
 * Why the real Mandrill cannot post to Callback URLs under `publicUrl`, or `undefined`: a `localhost`
 * name, a loopback/private/link-local address, or a single-label host name only this network knows.
 */
export function publicUrlWarning(publicUrl: string, simulator: boolean): string | undefined {
  let host: string;
  try {
    host = new URL(publicUrl).hostname.replace(/^\[|\]$/g, "").toLowerCase();
  } catch {
    return undefined;
  }
  const ip = parseIpLiteral(host);
  const local =
    host === "localhost" ||
    host.endsWith(".localhost") ||
    (ip !== undefined && addressRange(ip) !== "public") ||
    (ip === undefined && !host.includes("."));
  if (!local) return undefined;
  return `PUBLIC_URL is ${publicUrl}: the real Mandrill cannot reach a local or private address${simulator ? " (the local simulator can)" : ""}. Before registering with Mandrill, set PUBLIC_URL to this server's public https address (or a tunnel to it).`;
}

/** The Callback URL with a Copy button ("Copied" is announced), shown before the first save too. */
export function callbackBox(o: {
  account: string;
  callbackUrl: string;
  saved: boolean;
  warning: string | undefined;
  idPrefix: string;
}): SafeHtml {
  return html`<section class="card" aria-labelledby="callback-box-heading" id="callback">
<h2 id="callback-box-heading">Callback URL</h2>
<p class="url-box"><code id="${o.idPrefix}">${o.callbackUrl}</code>
<button type="button" class="copy" data-copy="${o.idPrefix}" aria-label="Copy the Callback URL" hidden>Copy</button></p>
<p class="help">${
    o.saved
      ? html`Mandrill posts bounces, unsubscribes and spam reports here. Register it and check it on the <a href="/accounts/${o.account}/webhooks">Webhooks</a> page.`
      : html`This account's address for Mandrill's webhooks. Save the settings first (Mandrill needs the API key), then register it from the <a href="/accounts/${o.account}/webhooks">Webhooks</a> page.`
  }</p>
${o.warning === undefined ? "" : html`<p class="note" role="note" id="public-url-warning"><strong>Not reachable by Mandrill.</strong> ${o.warning}</p>`}
</section>`;
}
