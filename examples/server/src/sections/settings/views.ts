import type { FieldError } from "@mandrill-kit/core";
import type { SettingsDescription } from "@mandrill-kit/credentials";
import type { TestEmailResult } from "@mandrill-kit/sender";
import { errorSummary, fieldMarkup } from "../../views/form.js";
import { attr, formatTime, html, type SafeHtml } from "../../views/html.js";
import { diagnosisTable } from "../diagnostics/views.js";

/** What the settings page shows: the saved settings, or the typed input with its errors. */
export interface SettingsPageState {
  account: string;
  described: SettingsDescription | undefined;
  simulator: boolean;
  csrf: SafeHtml;
  /** The form as submitted (secrets left out), when it is shown again with errors. */
  input?: Record<string, string>;
  errors: readonly FieldError[];
  /** The last test email's result, shown once after its redirect. */
  testResult?: TestEmailResult | undefined;
}

function secretHelp(s: SettingsPageState): { apiKey: SafeHtml | string; webhookKey: SafeHtml } {
  const current = s.described?.webhookKeys.find((k) => k.current);
  return {
    apiKey: s.described?.apiKey
      ? html`Saved: <span class="masked" id="apiKey-saved">${s.described.apiKey}</span>. Leave empty to keep it; it is never shown again.`
      : "Write-only: once saved it is shown masked. Mandrill → Settings → SMTP & API Info.",
    webhookKey:
      current === undefined
        ? html`Mandrill shows it next to the Callback URL; or use <a href="/accounts/${s.account}/webhooks">Register the Callback URL</a> to save it automatically.`
        : html`Current: <span class="masked">${current.masked}</span>. A new key becomes current; the previous one stays accepted until removed.`,
  };
}

function settingsForm(s: SettingsPageState): SafeHtml {
  const value = (name: keyof SettingsDescription & string, fallback: string) =>
    s.input?.[name] ?? (s.described === undefined ? fallback : String(s.described[name] ?? ""));
  const f = fieldMarkup(s.errors);
  const transport = value("transport", "smtp");
  const unsub = value("unsubscribeMode", "mandrill");
  const help = secretHelp(s);
  return html`<form method="post" action="/accounts/${s.account}/settings" class="card" id="settings-form" novalidate>
${s.csrf}
<fieldset><legend>Transport</legend>
<p><input type="radio" id="transport-smtp" name="transport" value="smtp"${attr("checked", transport === "smtp")}> <label for="transport-smtp">SMTP</label>
<input type="radio" id="transport-api" name="transport" value="api"${attr("checked", transport === "api")}> <label for="transport-api">HTTP API</label></p>
</fieldset>
<p><label for="host">Host</label>
<input id="host" name="host" value="${value("host", "smtp.mandrillapp.com")}"${f.invalid("host")}${f.describedBy("host", "host-help")}> ${f.error("host")}</p>
<p class="help" id="host-help">${s.simulator ? "smtp.mandrillapp.com is routed to the local simulator's SMTP server." : "Mandrill's SMTP host is smtp.mandrillapp.com."}</p>
<p><label for="port">Port</label>
<input id="port" name="port" inputmode="numeric" value="${value("port", "587")}"${f.invalid("port")}${f.describedBy("port", "port-help")}> ${f.error("port")}</p>
<p class="help" id="port-help">587, 25 or 2525 use STARTTLS; 465 uses TLS. Try 2525 if your host blocks 587.</p>
<p><label for="username">Username</label>
<input id="username" name="username" autocomplete="off" value="${value("username", "")}"${f.invalid("username")}${f.describedBy("username")}> ${f.error("username")}</p>
<p><label for="apiKey">API key</label>
<input id="apiKey" name="apiKey" type="password" autocomplete="new-password" value=""${f.invalid("apiKey")}${f.describedBy("apiKey", "apiKey-help")}> ${f.error("apiKey")}</p>
<p class="help" id="apiKey-help">${help.apiKey}</p>
<p><label for="fromEmail">From address</label>
<input id="fromEmail" name="fromEmail" type="email" autocomplete="off" value="${value("fromEmail", "")}"${f.invalid("fromEmail")}${f.describedBy("fromEmail")}> ${f.error("fromEmail")}</p>
<p><label for="fromName">From name</label>
<input id="fromName" name="fromName" autocomplete="off" value="${value("fromName", "")}"${f.invalid("fromName")}${f.describedBy("fromName")}> ${f.error("fromName")}</p>
<p><label for="webhookKey">Webhook key</label>
<input id="webhookKey" name="webhookKey" type="password" autocomplete="new-password" value=""${f.invalid("webhookKey")}${f.describedBy("webhookKey", "webhookKey-help")}> ${f.error("webhookKey")}</p>
<p class="help" id="webhookKey-help">${help.webhookKey}</p>
<p><label for="unsubscribeMode">Unsubscribe links</label>
<select id="unsubscribeMode" name="unsubscribeMode">
<option value="mandrill"${attr("selected", unsub === "mandrill")}>Mandrill's footer / *|UNSUB|* merge tag</option>
<option value="one-click"${attr("selected", unsub === "one-click")}>One-click List-Unsubscribe (served by this app)</option>
<option value="none"${attr("selected", unsub === "none")}>None</option>
</select></p>
<p><button type="submit">Save</button></p>
</form>`;
}

/** A test email's outcome, with the troubleshooting checks when it failed. */
export function testEmailResult(r: TestEmailResult): SafeHtml {
  return html`<div class="result result-${r.ok ? "ok" : "error"}" role="status" id="test-email-result">
<p><strong>${r.ok ? "Success" : "It did not work"}:</strong> ${r.summary}</p>
${r.error === null ? "" : html`<p>${r.error.message}${r.error.hint ? html` <span class="hint">${r.error.hint}</span>` : ""}</p>`}
${r.diagnosis === null ? "" : html`<h3>Troubleshooting</h3>${diagnosisTable(r.diagnosis)}`}
</div>`;
}

function testEmailSection(s: SettingsPageState): SafeHtml {
  const { described, testResult } = s;
  return html`<section aria-labelledby="test-email-heading" class="card" id="test-email">
<h2 id="test-email-heading">Send a test email</h2>
<form method="post" action="/accounts/${s.account}/test-email">
${s.csrf}
<p><label for="test-to">Send to</label>
<input id="test-to" name="to" type="email" required value="${testResult?.to ?? ""}"></p>
<p><button type="submit"${attr("disabled", described === undefined)}>Send a test email</button>${described === undefined ? " (save the settings first)" : ""}</p>
</form>
${testResult === undefined ? "" : testEmailResult(testResult)}
${
  described?.lastVerification && testResult === undefined
    ? html`<p>Last check ${formatTime(described.lastVerification.at)}: ${described.lastVerification.ok ? "OK" : "failed"} — ${described.lastVerification.summary}</p>`
    : ""
}
</section>`;
}

/** The Email settings page: the Mandrill form, the Callback URL once saved, and the test email. */
export function settingsView(s: SettingsPageState): SafeHtml {
  return html`${errorSummary("The settings were not saved:", s.errors)}
${settingsForm(s)}
${
  s.described === undefined
    ? ""
    : html`<p>Callback URL: <code id="callback-url-short">${s.described.callbackUrl}</code> (<a href="/accounts/${s.account}/webhooks">Webhooks</a>)</p>`
}
${testEmailSection(s)}`;
}
