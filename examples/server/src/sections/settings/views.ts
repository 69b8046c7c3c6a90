import type { FieldError } from "@mandrill-kit/core";
import type { SettingsDescription } from "@mandrill-kit/credentials";
import { DEMO_SENDING_DOMAINS } from "../../demo-simulator.js";
import { errorSummary, fieldMarkup } from "../../views/form.js";
import { attr, formatTime, html, SafeHtml } from "../../views/html.js";
import { keyStatus } from "../accounts/views.js";
import { callbackBox } from "../webhooks/callback.js";
import { type ConnectionOutcome, connectionResult, type TestOutcome, testEmailResult } from "./results.js";

/** The settings form's fields, by the name people see. */
export const SETTINGS_LABELS: Readonly<Record<string, string>> = {
  transport: "Send through",
  host: "Host",
  port: "Port",
  username: "Username",
  apiKey: "API key",
  fromEmail: "From address",
  fromName: "From name",
  replyTo: "Reply-to",
  subaccount: "Subaccount",
  webhookKey: "Webhook key",
  removeWebhookKeys: "Old webhook keys",
  unsubscribeMode: "Unsubscribe links",
  to: "Send to",
  "": "The form",
};

/** Typed secrets the server keeps (never shown) for the form being edited. */
export interface PendingSecrets {
  nonce: string;
  apiKey: boolean;
  webhookKey: boolean;
}

/** What the settings page shows: the saved settings, or the typed input with its errors. */
export interface SettingsPageState {
  account: string;
  described: SettingsDescription | undefined;
  simulator: boolean;
  csrf: SafeHtml;
  callbackUrl: string;
  /** Why the real Mandrill cannot reach the Callback URL (a local or private PUBLIC_URL), if so. */
  publicUrlWarning: string | undefined;
  /** The form as submitted (secrets left out), when it is shown again. */
  input?: Record<string, string>;
  errors: readonly FieldError[];
  /** Secrets typed in the form and kept by the server for it (not shown). */
  pending?: PendingSecrets | undefined;
  /** Secrets that were typed but must be typed again (they were refused, or are no longer kept). */
  retype?: readonly ("apiKey" | "webhookKey")[];
  /** The test email sent from this form (shown once, in the test-email box). */
  testResult?: TestOutcome | undefined;
  /** "Test connection" (shown once, under the buttons). */
  connection?: ConnectionOutcome | undefined;
  /** The test recipient typed. */
  testTo?: string;
  /** The error summary's first line (what did not happen). */
  intro?: string;
  /** When the last webhook arrived for the account, or `null`. */
  lastReceivedAt?: number | null;
}

function apiKeyHelp(s: SettingsPageState): SafeHtml | string {
  if (s.retype?.includes("apiKey"))
    return html`<strong>Type the API key again</strong>: a typed key is never sent back to the browser.`;
  if (s.pending?.apiKey)
    return "The key you typed is kept for this form (not shown): Save stores it; type another to replace it.";
  return s.described?.apiKey
    ? html`Saved: <span class="masked" id="apiKey-saved">${s.described.apiKey}</span>. Leave empty to keep it; it is never shown again.`
    : "From Mandrill → Settings → SMTP & API Info. Write-only: once saved it is only shown masked.";
}

function webhookKeyHelp(s: SettingsPageState): SafeHtml {
  if (s.retype?.includes("webhookKey"))
    return html`<strong>Type the webhook key again</strong>: a typed key is never sent back to the browser.`;
  if (s.pending?.webhookKey)
    return html`The key you typed is kept for this form (not shown): Save stores it.`;
  const current = s.described?.webhookKeys.find((k) => k.current);
  return current === undefined
    ? html`Mandrill shows it next to the webhook; or use <a href="/accounts/${s.account}/webhooks">Register the Callback URL</a> to save it automatically.`
    : html`Current: <span class="masked">${current.masked}</span>. A new key becomes current; the previous ones stay accepted until you remove them below.`;
}

function oldWebhookKeys(s: SettingsPageState): SafeHtml | "" {
  const old = s.described?.webhookKeys.filter((k) => !k.current) ?? [];
  if (old.length === 0) return "";
  return html`<fieldset id="removeWebhookKeys"><legend>Old webhook keys (still accepted)</legend>
<ul class="plain">${old.map(
    (k) =>
      html`<li><input type="checkbox" id="remove-${k.id}" name="removeWebhookKeys" value="${k.id}"> <label for="remove-${k.id}">Remove <span class="masked">${k.masked}</span></label></li>`,
  )}</ul>
<p class="help">Remove a key once Mandrill no longer signs with it (after you rotated it there). Removed on Save.</p>
</fieldset>`;
}

const UNSUBSCRIBE_HELP =
  "Mandrill's footer needs Settings → Sending Defaults → Add Unsubscribe Footer turned on in Mandrill (or *|UNSUB|* in your templates); one-click adds List-Unsubscribe headers and a link served by this app (leave Mandrill's footer off); none is for mail nobody opts out of, such as password resets.";

function settingsForm(s: SettingsPageState): SafeHtml {
  const value = (name: keyof SettingsDescription & string, fallback: string) =>
    s.input?.[name] ?? (s.described === undefined ? fallback : String(s.described[name] ?? ""));
  const f = fieldMarkup(s.errors, SETTINGS_LABELS);
  const field = (name: string, label: string, input: SafeHtml, help?: SafeHtml | string) =>
    html`<div class="field"><label for="${name}">${label}</label>${input}${f.error(name)}${help === undefined ? "" : html`<p class="help" id="${name}-help">${help}</p>`}</div>`;
  const text = (name: keyof SettingsDescription & string, extra: string, fallback = "", help?: string) =>
    html`<input id="${name}" name="${name}" ${new SafeHtml(extra)} value="${value(name, fallback)}"${f.invalid(name)}${f.describedBy(name, help)}>`;
  const transport = value("transport", "smtp");
  const unsub = value("unsubscribeMode", "mandrill");
  const smtpHidden = attr("hidden", transport !== "smtp");
  return html`<form method="post" action="/accounts/${s.account}/settings" class="card" id="settings-form" novalidate>
${s.csrf}
${s.pending === undefined ? "" : html`<input type="hidden" name="secretsNonce" value="${s.pending.nonce}">`}
<fieldset class="choices" id="transport"><legend>Send through</legend>
<input type="radio" id="transport-smtp" name="transport" value="smtp"${attr("checked", transport === "smtp")}> <label for="transport-smtp">SMTP</label>
<input type="radio" id="transport-api" name="transport" value="api"${attr("checked", transport === "api")}> <label for="transport-api">HTTP API</label>
<p class="help">The HTTP API needs only the API key; SMTP also needs the host, port and a username.</p>
</fieldset>
<div data-transport="smtp"${smtpHidden}>
${field("host", "Host", text("host", 'class="long" autocomplete="off"', "smtp.mandrillapp.com", "host-help"), s.simulator ? "smtp.mandrillapp.com is routed to the local simulator's SMTP server." : "Mandrill's SMTP host is smtp.mandrillapp.com.")}
${field("port", "Port", text("port", 'class="short" inputmode="numeric"', "587", "port-help"), "587, 25 or 2525 use STARTTLS; 465 uses TLS. Try 2525 if your host blocks 587.")}
${field("username", "Username", text("username", 'autocomplete="off"', "", "username-help"), "Mandrill accepts any value: use the account's contact email.")}
</div>
${field("apiKey", "API key", html`<input id="apiKey" name="apiKey" type="password" class="long" autocomplete="new-password" value=""${f.invalid("apiKey")}${f.describedBy("apiKey", "apiKey-help")}>`, apiKeyHelp(s))}
${field("fromEmail", "From address", text("fromEmail", 'type="email" autocomplete="off"', "", "fromEmail-help"), s.simulator ? `On a verified sending domain: in the simulator, ${DEMO_SENDING_DOMAINS.join(" and ")}.` : "On a sending domain verified in Mandrill (Settings → Domains).")}
${field("fromName", "From name", text("fromName", 'autocomplete="off"'))}
${field("webhookKey", "Webhook key", html`<input id="webhookKey" name="webhookKey" type="password" class="long" autocomplete="new-password" value=""${f.invalid("webhookKey")}${f.describedBy("webhookKey", "webhookKey-help")}>`, webhookKeyHelp(s))}
${oldWebhookKeys(s)}
${field(
  "unsubscribeMode",
  "Unsubscribe links",
  html`<select id="unsubscribeMode" name="unsubscribeMode" aria-describedby="unsubscribeMode-help">
<option value="mandrill"${attr("selected", unsub === "mandrill")}>Mandrill's footer (*|UNSUB|*)</option>
<option value="one-click"${attr("selected", unsub === "one-click")}>One-click List-Unsubscribe (served by this app)</option>
<option value="none"${attr("selected", unsub === "none")}>None</option>
</select>`,
  UNSUBSCRIBE_HELP,
)}
<div class="actions"><button type="submit">Save</button>
<button type="submit" class="secondary" formaction="/accounts/${s.account}/test-connection" id="test-connection">Test connection</button></div>
<p class="help">Test connection checks what is in the form (saved or not): the API key, the From domain and, for SMTP, the server and login. It sends no email and saves nothing.</p>
${s.connection === undefined ? "" : connectionResult(s.connection)}
</form>`;
}

function lastCheck(s: SettingsPageState): SafeHtml | "" {
  const v = s.described?.lastVerification;
  if (v === null || v === undefined || s.testResult !== undefined) return "";
  return html`<p id="last-check">Last check ${formatTime(v.at)}: ${v.ok ? "OK" : "failed"} — ${v.summary}</p>`;
}

function testEmailSection(s: SettingsPageState): SafeHtml {
  const f = fieldMarkup(
    s.errors.filter((e) => e.field === "to"),
    SETTINGS_LABELS,
  );
  return html`<section aria-labelledby="test-email-heading" class="card" id="test-email">
<h2 id="test-email-heading">Send a test email</h2>
<p class="help">Sends with what is in the form above (saved or not) and keeps your edits; it saves nothing.</p>
<div class="inline-fields">
<div class="field"><label for="test-to">Send to</label>
<input id="test-to" name="to" type="email" form="settings-form" autocomplete="email" value="${s.testTo ?? ""}"${f.invalid("to")}${f.describedBy("to")}>${f.error("to")}</div>
<div class="field button"><button type="submit" form="settings-form" formaction="/accounts/${s.account}/test-email" id="send-test-email">Send a test email</button></div>
</div>
${s.testResult === undefined ? "" : testEmailResult(s.testResult)}
${lastCheck(s)}
</section>`;
}

/** Key OK / refused / not checked, and the last webhook received, for this account. */
function statusLine(s: SettingsPageState): SafeHtml {
  const d = s.described;
  if (d === undefined)
    return html`<p class="status-line" id="account-status">Not set up yet: fill in the form and save.</p>`;
  const last = s.lastReceivedAt ?? null;
  return html`<p class="status-line" id="account-status">API key: ${d.hasApiKey ? keyStatus(d.lastVerification) : html`<span class="badge badge-fail">missing</span>`} · Last webhook received: ${last === null ? "none yet" : formatTime(last)}</p>`;
}

/** The Email settings page: the Mandrill form, the test email, and the Callback URL. */
export function settingsView(s: SettingsPageState): SafeHtml {
  const formErrors = s.errors.filter((e) => e.field !== "to");
  return html`${statusLine(s)}
${errorSummary(s.intro ?? "The settings were not saved. Fix these:", formErrors, SETTINGS_LABELS, { transport: "transport-smtp" })}
${settingsForm({ ...s, errors: formErrors })}
${testEmailSection(s)}
${callbackBox({
  account: s.account,
  callbackUrl: s.callbackUrl,
  saved: s.described !== undefined,
  warning: s.publicUrlWarning,
  idPrefix: "callback-url-short",
})}`;
}
