import type { InboxBacklog, InboxRecord, InboxStats, QuarantinedBatch } from "@mandrill-kit/core";
import type { SettingsDescription } from "@mandrill-kit/credentials";
import type { SignatureDiagnosis } from "@mandrill-kit/webhooks";
import { plural } from "../../views/form.js";
import { attr, formatTime, html, type SafeHtml, scrollTable } from "../../views/html.js";
import { backlogSection } from "./backlog-view.js";
import { SUPPRESSION_EVENTS, WEBHOOK_EVENT_CHOICES } from "./register.js";

/** What the Webhooks page shows. */
export interface WebhooksPageState {
  account: string;
  callbackUrl: string;
  described: SettingsDescription | undefined;
  stats: InboxStats;
  recent: readonly InboxRecord[];
  dead: readonly InboxRecord[];
  quarantined: readonly QuarantinedBatch[];
  mismatches: readonly SignatureDiagnosis[];
  csrf: SafeHtml;
  /** Why the real Mandrill cannot reach the Callback URL (a local or private PUBLIC_URL), if so. */
  publicUrlWarning: string | undefined;
  /** The last "Send a test webhook" outcome, shown once. */
  testWebhook?: { ok: boolean; message: string } | undefined;
  /** The store-wide dispatch backlog (as on `/metrics`), when the store reports it. */
  backlog?: InboxBacklog | undefined;
}

function webhookKeys(described: SettingsDescription | undefined): SafeHtml {
  return described === undefined || described.webhookKeys.length === 0
    ? html`<strong id="webhook-key-status">none saved — webhooks are refused until one is</strong>`
    : html`<span id="webhook-key-status">${described.webhookKeys.map((k) => html`<span class="masked">${k.masked}</span>${k.current ? " (current)" : ""} `)}</span>`;
}

function callbackSection(s: WebhooksPageState): SafeHtml {
  const hasApiKey = s.described?.hasApiKey === true;
  return html`<section class="card" aria-labelledby="callback-heading">
<h2 id="callback-heading">Callback URL</h2>
<div class="field"><label for="callback-url">Give Mandrill this URL (Settings → Webhooks → Add a webhook)</label>
<p class="url-box"><input id="callback-url" readonly value="${s.callbackUrl}" aria-describedby="callback-url-help">
<button type="button" class="copy" data-copy="callback-url" hidden>Copy</button></p>
<p class="help" id="callback-url-help">Mandrill signs every batch with the webhook's key over exactly this URL. Behind a proxy, it must be the public address (<code>PUBLIC_URL</code>).</p></div>
${s.publicUrlWarning === undefined ? "" : html`<p class="note" role="note" id="public-url-warning"><strong>Not reachable by Mandrill.</strong> ${s.publicUrlWarning}</p>`}
<form method="post" action="/accounts/${s.account}/webhooks/register">
${s.csrf}
<fieldset><legend>Mandrill events to send</legend>
<ul class="events">${WEBHOOK_EVENT_CHOICES.map(
    (c) =>
      html`<li><input type="checkbox" id="event-${c.event}" name="events" value="${c.event}"${attr("checked", (SUPPRESSION_EVENTS as readonly string[]).includes(c.event))}> <label for="event-${c.event}">${c.label} <code>${c.event}</code></label></li>`,
  )}</ul>
<p class="help">Bounced, soft-bounced, rejected, unsubscribed and spam keep the suppression list right.</p>
</fieldset>
<p class="actions"><button type="submit" id="register-webhook"${attr("disabled", !hasApiKey)}${hasApiKey ? "" : html` aria-describedby="register-needs-key"`}>Register the Callback URL with Mandrill</button>
${hasApiKey ? "" : html`<span class="help" id="register-needs-key">Save an API key first.</span>`}</p>
<p class="help">Uses the account's API key to add (or update) the webhook in Mandrill and saves the key Mandrill returns, so nobody copies keys by hand.</p>
</form>
<p>Webhook keys: ${webhookKeys(s.described)} <a href="/accounts/${s.account}/settings#webhookKey">Change or remove keys</a></p>
<form method="post" action="/accounts/${s.account}/webhooks/test" class="actions">
${s.csrf}
<button type="submit" class="secondary" id="send-test-webhook">Send a test webhook</button>
<span class="help">Posts a signed, empty batch to the Callback URL, like Mandrill's "Send Test": proves the address reaches this app and the key verifies.</span>
</form>
${
  s.testWebhook === undefined
    ? ""
    : html`<div class="result result-${s.testWebhook.ok ? "ok" : "error"}" role="${s.testWebhook.ok ? "status" : "alert"}" id="test-webhook-result" tabindex="-1" data-autofocus><p><strong>${s.testWebhook.ok ? "Test webhook received" : "Test webhook failed"}:</strong> ${s.testWebhook.message}</p></div>`
}
</section>`;
}

function receivedSection(s: WebhooksPageState): SafeHtml {
  const { stats } = s;
  const byType = Object.entries(stats.byType).sort(([a], [b]) => a.localeCompare(b));
  return html`<section class="card" aria-labelledby="received-heading">
<h2 id="received-heading">Received</h2>
<dl class="stats">
<dt>Last webhook received</dt><dd id="last-received">${formatTime(stats.lastReceivedAt)}</dd>
<dt>Events</dt><dd>${stats.total}</dd>
<dt>Handled</dt><dd>${stats.done}</dd>
<dt>Waiting for a handler</dt><dd>${stats.pending}</dd>
<dt>Dead-lettered</dt><dd>${stats.dead}</dd>
<dt>Quarantined batches</dt><dd>${stats.quarantined}</dd>
</dl>
${
  byType.length === 0
    ? html`<p>No events yet.</p>`
    : scrollTable(
        "Events by type",
        html`<table><caption>Events by type</caption><thead><tr><th scope="col">Type</th><th scope="col">Count</th></tr></thead><tbody>${byType.map(([t, n]) => html`<tr><th scope="row">${t}</th><td>${n}</td></tr>`)}</tbody></table>`,
      )
}
${
  s.recent.length === 0
    ? ""
    : scrollTable(
        "Latest events",
        html`<table id="recent-events"><caption>Latest events (${plural(s.recent.length, "event")})</caption><thead><tr><th scope="col">Received</th><th scope="col">Type</th><th scope="col">Address</th><th scope="col">State</th></tr></thead>
<tbody>${s.recent.map((e) => html`<tr><td>${formatTime(e.receivedAt)}</td><td>${e.type}</td><td>${e.email ?? "—"}</td><td>${e.state}</td></tr>`)}</tbody></table>`,
      )
}
</section>`;
}

function deadSection(s: WebhooksPageState): SafeHtml {
  return html`<section class="card" aria-labelledby="dead-heading">
<h2 id="dead-heading">Dead-lettered handler runs</h2>
${
  s.dead.length === 0
    ? html`<p>None.</p>`
    : html`<div class="table-wrap" role="region" aria-label="Dead-lettered handler runs" tabindex="0"><table><thead><tr><th scope="col">Event</th><th scope="col">Address</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>${s.dead.map(
        (
          e,
        ) => html`<tr><td>${e.type}</td><td>${e.email ?? "—"}</td><td>${e.attempts}</td><td>${e.lastError ?? ""}</td>
<td><form method="post" action="/accounts/${s.account}/webhooks/replay">${s.csrf}<input type="hidden" name="key" value="${e.key}"><button type="submit">Replay</button></form></td></tr>`,
      )}</tbody></table></div>`
}
</section>`;
}

function quarantineSection(s: WebhooksPageState): SafeHtml {
  return html`<section class="card" aria-labelledby="quarantine-heading">
<h2 id="quarantine-heading">Quarantined batches</h2>
<p class="help">Signed bodies that could not be read: kept whole, never lost.</p>
${
  s.quarantined.length === 0
    ? html`<p>None.</p>`
    : html`<ul>${s.quarantined.map((q) => html`<li>${formatTime(q.receivedAt)} — ${q.error}<pre>${q.body.slice(0, 300)}${q.body.length > 300 ? "…" : ""}</pre></li>`)}</ul>`
}
</section>`;
}

function mismatchSection(s: WebhooksPageState): SafeHtml | "" {
  if (s.mismatches.length === 0) return "";
  return html`<section class="card" aria-labelledby="mismatch-heading"><h2 id="mismatch-heading">Signature mismatches</h2><ul>${s.mismatches.map(
    (m) => html`<li>${formatTime(m.at)}: ${m.finding} ${m.advice}</li>`,
  )}</ul></section>`;
}

/** The Webhooks page: Callback URL and registration, what arrived, dead letters, quarantine, mismatches. */
export function webhooksView(s: WebhooksPageState): SafeHtml {
  return html`${callbackSection(s)}
${receivedSection(s)}
${backlogSection(s.backlog, Date.now())}
${deadSection(s)}
${quarantineSection(s)}
${mismatchSection(s)}`;
}
