import {
  type FieldError,
  SUPPRESSION_REASONS,
  type Suppression,
  type SuppressionReason,
} from "@mandrill-kit/core";
import { errorSummary, fieldMarkup } from "../../views/form.js";
import { attr, formatTime, html, type SafeHtml, scrollTable, statusBadge } from "../../views/html.js";

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
  /** The add form or the CSV import as submitted, when refused (shown again with its errors). */
  refused?:
    | { form: "add" | "import"; input: Record<string, string>; errors: readonly FieldError[] }
    | undefined;
}

/** The add form's fields, by the name people see. */
export const SUPPRESSION_LABELS: Readonly<Record<string, string>> = {
  email: "Address",
  reason: "Reason",
  detail: "Note",
  expiresAt: "Until",
  csv: "CSV",
};

function reasonOptions(selected: SuppressionReason | undefined, any: boolean): SafeHtml {
  return html`${any ? html`<option value="">Any reason</option>` : ""}${SUPPRESSION_REASONS.map((r) => html`<option value="${r}"${attr("selected", r === selected)}>${r}</option>`)}`;
}

function filterForm(s: SuppressionsPageState): SafeHtml {
  const { search, reason, status } = s.filters;
  return html`<form method="get" action="/accounts/${s.account}/suppressions" class="filters card" role="search" aria-label="Filter the suppressions">
<div class="inline-fields">
<div class="field"><label for="search">Search</label><input id="search" name="search" type="search" value="${search}"></div>
<div class="field"><label for="reason-filter">Reason</label><select id="reason-filter" name="reason">${reasonOptions(reason, true)}</select></div>
<div class="field"><label for="status-filter">Status</label><select id="status-filter" name="status">${(["active", "lifted", "expired", "all"] as const).map((v) => html`<option value="${v}"${attr("selected", v === status)}>${v}</option>`)}</select></div>
<div class="field button"><button type="submit">Filter</button></div>
</div>
</form>`;
}

function liftForm(s: SuppressionsPageState, e: Suppression, i: number): SafeHtml {
  return html`<form method="post" action="/accounts/${s.account}/suppressions/lift" class="inline">${s.csrf}<input type="hidden" name="email" value="${e.email}">
<span class="lift"><label for="lift-reason-${i}">Why lift it<span class="visually-hidden"> (${e.email})</span></label><input id="lift-reason-${i}" name="reason" required> <button type="submit">Lift<span class="visually-hidden"> ${e.email}</span></button></span></form>`;
}

function suppressionsTable(s: SuppressionsPageState): SafeHtml {
  if (s.items.length === 0) return html`<p id="suppressions-empty">No suppressions match.</p>`;
  const now = Date.now();
  const withStatus = s.filters.status === "all";
  const state = (e: Suppression) =>
    e.liftedAt !== null ? "lifted" : e.expiresAt !== null && e.expiresAt <= now ? "expired" : "active";
  return scrollTable(
    "Suppressed addresses",
    html`<table id="suppressions"><caption>Suppressed addresses</caption>
<thead><tr><th scope="col">Address</th>${withStatus ? html`<th scope="col">Status</th>` : ""}<th scope="col">Reason</th><th scope="col">Source</th><th scope="col">Since</th><th scope="col">Until</th><th scope="col">Detail</th><th scope="col">Lift</th></tr></thead>
<tbody>${s.items.map(
      (
        e,
        i,
      ) => html`<tr><th scope="row">${e.email}</th>${withStatus ? html`<td>${statusBadge(state(e))}</td>` : ""}<td>${e.reason}</td><td>${e.source}</td><td>${formatTime(e.createdAt, now)}</td><td>${e.expiresAt === null ? "forever" : formatTime(e.expiresAt, now)}</td><td>${e.liftedAt === null ? (e.detail ?? "") : `lifted by ${e.liftedBy ?? "?"}: ${e.liftReason ?? ""}`}</td>
<td>${e.liftedAt === null ? liftForm(s, e, i) : ""}</td></tr>`,
    )}</tbody></table>`,
  );
}

const ADD_IDS: Readonly<Record<string, string>> = {
  email: "add-email",
  reason: "add-reason",
  detail: "add-detail",
};

function parseReasonText(value: string | undefined): SuppressionReason | undefined {
  return (SUPPRESSION_REASONS as readonly string[]).includes(value ?? "")
    ? (value as SuppressionReason)
    : undefined;
}

/** Tomorrow (UTC) as a date input's value: the earliest "Until" that does something. */
function tomorrow(now = Date.now()): string {
  return new Date(now + 86_400_000).toISOString().slice(0, 10);
}

function addSection(s: SuppressionsPageState): SafeHtml {
  const errors = s.refused?.form === "add" ? s.refused.errors : [];
  const v = s.refused?.form === "add" ? s.refused.input : {};
  const f = fieldMarkup(errors, SUPPRESSION_LABELS);
  return html`<section class="card" aria-labelledby="add-heading">
<h2 id="add-heading">Add an address</h2>
${errorSummary("The address was not added. Fix these:", errors, SUPPRESSION_LABELS, ADD_IDS)}
<form method="post" action="/accounts/${s.account}/suppressions" novalidate>
${s.csrf}
<div class="inline-fields">
<div class="field"><label for="add-email">Address</label><input id="add-email" name="email" type="email" required value="${v.email ?? ""}"${f.invalid("email")}${f.describedBy("email")}>${f.error("email")}</div>
<div class="field"><label for="add-reason">Reason</label><select id="add-reason" name="reason">${reasonOptions(parseReasonText(v.reason) ?? "custom", false)}</select></div>
</div>
<div class="inline-fields">
<div class="field"><label for="add-detail">Note</label><input id="add-detail" name="detail" maxlength="500" value="${v.detail ?? ""}"${f.invalid("detail")}${f.describedBy("detail")}>${f.error("detail")}</div>
<div class="field"><label for="expiresAt">Until (optional)</label><input id="expiresAt" name="expiresAt" type="date" min="${tomorrow()}" value="${v.expiresAt ?? ""}"${f.invalid("expiresAt")}${f.describedBy("expiresAt", "expiresAt-help")}>${f.error("expiresAt")}<p class="help" id="expiresAt-help">A future date; empty suppresses for good.</p></div>
</div>
<p><button type="submit">Suppress</button></p>
</form>
</section>`;
}

function csvSection(s: SuppressionsPageState): SafeHtml {
  const csvErrors = s.refused?.form === "import" ? s.refused.errors : [];
  const csvInput = s.refused?.form === "import" ? (s.refused.input.csv ?? "") : "";
  return html`<section class="card" aria-labelledby="csv-heading">
<h2 id="csv-heading">CSV</h2>
<p><a href="/accounts/${s.account}/suppressions.csv" download>Export the active suppressions as CSV</a></p>
<p><a href="/accounts/${s.account}/suppressions/sync" id="sync-link">Sync with Mandrill</a> (last sync, differences with Mandrill's denylist)</p>
<form method="post" action="/accounts/${s.account}/suppressions/import">
${s.csrf}
${errorSummary("Nothing was imported. Fix these lines:", csvErrors, {}, Object.fromEntries(csvErrors.map((e) => [e.field, "csv"])))}
<div class="field"><label for="csv">Import: paste CSV with a header line</label>
<textarea id="csv" name="csv" rows="6" required aria-describedby="csv-help"${csvErrors.length > 0 ? html` aria-invalid="true"` : ""}>${csvInput}</textarea>
<p class="help" id="csv-help">Columns <code>email,reason,detail,expiresAt</code>; the export's format works.</p></div>
<div class="field js-only" hidden><label for="csv-file">…or choose a file</label><input id="csv-file" type="file" accept=".csv,text/csv" data-fill="csv"></div>
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
