import type { SettingsSummary } from "@mandrill-kit/credentials";
import { formatTime, html, type SafeHtml } from "../../views/html.js";

function accountsTable(accounts: readonly SettingsSummary[]): SafeHtml {
  if (accounts.length === 0) return html`<p>No account is set up yet. Create one below.</p>`;
  return html`<table><caption>Accounts with Mandrill settings</caption>
<thead><tr><th scope="col">Account</th><th scope="col">Transport</th><th scope="col">From</th><th scope="col">API key</th><th scope="col">Webhook key</th><th scope="col">Updated</th></tr></thead>
<tbody>${accounts.map(
    (a) =>
      html`<tr><th scope="row"><a href="/accounts/${a.account}/settings">${a.account}</a></th><td>${a.transport.toUpperCase()}</td><td>${a.fromEmail}</td><td>${a.hasApiKey ? "saved" : "missing"}</td><td>${a.hasWebhookKey ? "saved" : "missing"}</td><td>${formatTime(a.updatedAt)}</td></tr>`,
  )}</tbody></table>`;
}

/** The accounts with settings, and the form creating one. */
export function accountsView(accounts: readonly SettingsSummary[], csrf: SafeHtml): SafeHtml {
  return html`<p>Each account (a customer of the host app) brings its own Mandrill account: API key, From address and Callback URL.</p>
${accountsTable(accounts)}
<h2 id="create">Create an account</h2>
<form method="post" action="/accounts" class="card">
${csrf}
<p><label for="account">Account id</label>
<input id="account" name="account" required maxlength="128" pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]*" aria-describedby="account-help"></p>
<p id="account-help" class="help">Letters, digits, <code>_ - .</code>; it becomes part of the Callback URL. The account is listed once its settings are saved.</p>
<p><button type="submit">Create and configure</button></p>
</form>`;
}
