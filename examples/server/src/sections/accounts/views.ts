import type { SettingsSummary } from "@mandrill-kit/credentials";
import { formatTime, html, type SafeHtml, scrollTable } from "../../views/html.js";

/** An account with what the Accounts list shows about it. */
export interface AccountRow extends SettingsSummary {
  /** When the last webhook arrived, or `null`. */
  lastReceivedAt: number | null;
}

/** Key OK / refused / not checked, from the last check (key checked on save, test email). */
export function keyStatus(v: SettingsSummary["lastVerification"]): SafeHtml {
  if (v === null) return html`<span class="badge badge-unknown">not checked</span>`;
  return html`<span class="badge badge-${v.ok ? "pass" : "fail"}" title="${v.summary}">${v.ok ? "key OK" : /refused/i.test(v.summary) ? "refused" : "check failed"}</span> <span class="ago">${formatTime(v.at)}</span>`;
}

function accountsTable(accounts: readonly AccountRow[]): SafeHtml {
  if (accounts.length === 0) return html`<p>No account is set up yet. Create one below.</p>`;
  return scrollTable(
    "Accounts",
    html`<table id="accounts"><caption>Accounts with Mandrill settings</caption>
<thead><tr><th scope="col">Account</th><th scope="col">Sends through</th><th scope="col">From</th><th scope="col">API key</th><th scope="col">Webhooks</th><th scope="col">Updated</th></tr></thead>
<tbody>${accounts.map(
      (a) =>
        html`<tr><th scope="row"><a href="/accounts/${a.account}/settings" class="account-id">${a.account}</a></th><td>${a.transport === "api" ? "HTTP API" : "SMTP"}</td><td>${a.fromEmail}</td><td>${a.hasApiKey ? keyStatus(a.lastVerification) : html`<span class="badge badge-fail">missing</span>`}</td><td>${a.hasWebhookKey ? (a.lastReceivedAt === null ? "key saved, nothing received yet" : html`last received ${formatTime(a.lastReceivedAt)}`) : html`<span class="badge badge-warn">no key</span>`}</td><td>${formatTime(a.updatedAt)}</td></tr>`,
    )}</tbody></table>`,
  );
}

/** The accounts with settings, and the form creating one. */
export function accountsView(accounts: readonly AccountRow[], csrf: SafeHtml): SafeHtml {
  return html`<p>Each account (a customer of the host app) brings its own Mandrill account: API key, From address and Callback URL.</p>
${accountsTable(accounts)}
<h2 id="create">Create an account</h2>
<form method="post" action="/accounts" class="card">
${csrf}
<div class="field"><label for="account">Account id</label>
<input id="account" name="account" required maxlength="128" pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]*" aria-describedby="account-help">
<p id="account-help" class="help">Letters, digits, <code>_ - .</code>; it becomes part of the Callback URL. The account is listed once its settings are saved.</p></div>
<p><button type="submit">Create and configure</button></p>
</form>`;
}

/** "Delete this account": what goes, and a confirmation step (a second form) before anything is deleted. */
export function deleteSection(account: string, csrf: SafeHtml, confirming: boolean): SafeHtml {
  return html`<section class="card danger-zone" aria-labelledby="delete-heading" id="delete">
<h2 id="delete-heading">Delete this account</h2>
<p>Deletes the account's Mandrill settings with its API key and webhook keys. Its suppressions and received events stay. Webhooks Mandrill posts afterwards are refused.</p>
${
  confirming
    ? html`<div class="note" role="alert" tabindex="-1" data-autofocus id="delete-confirm"><p><strong>Delete ${account} and its secrets?</strong> This cannot be undone.</p>
<form method="post" action="/accounts/${account}/delete" class="actions">${csrf}<input type="hidden" name="confirm" value="yes">
<button type="submit" class="danger">Yes, delete ${account}</button> <a href="/accounts/${account}/settings">Cancel</a></form></div>`
    : html`<form method="post" action="/accounts/${account}/delete">${csrf}<button type="submit" class="danger">Delete this account…</button></form>`
}
</section>`;
}
