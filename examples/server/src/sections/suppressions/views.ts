import { SUPPRESSION_REASONS, type Suppression, type SuppressionReason } from "@mandrill-kit/core";
import { attr, formatTime, html, type SafeHtml } from "../../views/html.js";

/** The list filters, as the page's query string gave them. */
export interface SuppressionFilters {
  search: string;
  reason: SuppressionReason | undefined;
  status: "active" | "lifted" | "expired" | "all";
}

/** What the Suppressions page shows. */
export interface SuppressionsPageState {
  account: string;
  filters: SuppressionFilters;
  items: readonly Suppression[];
  /** Active suppressions of the account. */
  count: number;
  csrf: SafeHtml;
}

function reasonOptions(selected: SuppressionReason | undefined, any: boolean): SafeHtml {
  return html`${any ? html`<option value="">Any reason</option>` : ""}${SUPPRESSION_REASONS.map((r) => html`<option value="${r}"${attr("selected", r === selected)}>${r}</option>`)}`;
}

function filterForm(s: SuppressionsPageState): SafeHtml {
  const { search, reason, status } = s.filters;
  return html`<form method="get" action="/accounts/${s.account}/suppressions" class="filters" role="search">
<p><label for="search">Search</label> <input id="search" name="search" type="search" value="${search}">
<label for="reason-filter">Reason</label> <select id="reason-filter" name="reason">${reasonOptions(reason, true)}</select>
<label for="status-filter">Status</label> <select id="status-filter" name="status">${(["active", "lifted", "expired", "all"] as const).map((v) => html`<option value="${v}"${attr("selected", v === status)}>${v}</option>`)}</select>
<button type="submit">Filter</button></p>
</form>`;
}

function liftForm(s: SuppressionsPageState, e: Suppression, i: number): SafeHtml {
  return html`<form method="post" action="/accounts/${s.account}/suppressions/lift" class="inline">${s.csrf}<input type="hidden" name="email" value="${e.email}">
<label for="lift-reason-${i}" class="visually-hidden">Why lift ${e.email}</label><input id="lift-reason-${i}" name="reason" required placeholder="why" size="14"> <button type="submit">Lift</button></form>`;
}

function suppressionsTable(s: SuppressionsPageState): SafeHtml {
  if (s.items.length === 0) return html`<p id="suppressions-empty">No suppressions match.</p>`;
  return html`<table id="suppressions"><caption>Suppressed addresses</caption>
<thead><tr><th scope="col">Address</th><th scope="col">Reason</th><th scope="col">Source</th><th scope="col">Since</th><th scope="col">Until</th><th scope="col">Detail</th><th scope="col">Lift</th></tr></thead>
<tbody>${s.items.map(
    (
      e,
      i,
    ) => html`<tr><th scope="row">${e.email}</th><td>${e.reason}</td><td>${e.source}</td><td>${formatTime(e.createdAt)}</td><td>${e.expiresAt === null ? "forever" : formatTime(e.expiresAt)}</td><td>${e.liftedAt === null ? (e.detail ?? "") : `lifted by ${e.liftedBy ?? "?"}: ${e.liftReason ?? ""}`}</td>
<td>${e.liftedAt === null ? liftForm(s, e, i) : ""}</td></tr>`,
  )}</tbody></table>`;
}

function addSection(s: SuppressionsPageState): SafeHtml {
  return html`<section class="card" aria-labelledby="add-heading">
<h2 id="add-heading">Add an address</h2>
<form method="post" action="/accounts/${s.account}/suppressions">
${s.csrf}
<p><label for="add-email">Address</label> <input id="add-email" name="email" type="email" required>
<label for="add-reason">Reason</label> <select id="add-reason" name="reason">${reasonOptions("custom", false)}</select></p>
<p><label for="add-detail">Note</label> <input id="add-detail" name="detail" maxlength="500">
<label for="add-expires">Until (optional)</label> <input id="add-expires" name="expiresAt" type="date"></p>
<p><button type="submit">Suppress</button></p>
</form>
</section>`;
}

function csvSection(s: SuppressionsPageState): SafeHtml {
  return html`<section class="card" aria-labelledby="csv-heading">
<h2 id="csv-heading">CSV</h2>
<p><a href="/accounts/${s.account}/suppressions.csv" download>Export the active suppressions as CSV</a></p>
<form method="post" action="/accounts/${s.account}/suppressions/import">
${s.csrf}
<p><label for="csv">Import: paste CSV with a header line (<code>email,reason,detail,expiresAt</code>; the export's format works)</label>
<textarea id="csv" name="csv" rows="6" cols="70" required></textarea></p>
<p class="js-only" hidden><label for="csv-file">…or choose a file</label> <input id="csv-file" type="file" accept=".csv,text/csv" data-fill="csv"></p>
<p><button type="submit">Import</button></p>
</form>
</section>`;
}

/** The Suppressions page: filters, the list with Lift, adding one, CSV export and import. */
export function suppressionsView(s: SuppressionsPageState): SafeHtml {
  return html`<p>Addresses this account never mails: ${s.count} active. The sender checks every recipient against this list before anything reaches Mandrill.</p>
${filterForm(s)}
${suppressionsTable(s)}
${addSection(s)}
${csvSection(s)}`;
}
