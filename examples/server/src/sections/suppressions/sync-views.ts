import type { DriftEntry, MandrillSyncState } from "@mandrill-kit/core";
import { attr, formatTime, html, type SafeHtml } from "../../views/html.js";

/** What the "Sync with Mandrill" page shows. */
export interface SyncPageState {
  account: string;
  state: MandrillSyncState | undefined;
  side: "local" | "mandrill";
  drift: readonly DriftEntry[];
  more: boolean;
  csrf: SafeHtml;
}

function lastSync(s: SyncPageState): SafeHtml {
  if (s.state === undefined) return html`<p id="sync-last">Never synced with Mandrill.</p>`;
  const c = s.state.counts;
  return html`<p id="sync-last">Last sync: ${formatTime(s.state.syncedAt)} — imported ${c.imported}, updated ${c.updated}, unchanged ${c.unchanged}, lifted ${c.lifted}; only here ${c.onlyLocal}, only at Mandrill ${c.onlyMandrill}.</p>`;
}

function driftTable(s: SyncPageState): SafeHtml {
  if (s.drift.length === 0) return html`<p id="drift-empty">No difference on this side.</p>`;
  return html`<table id="drift"><caption>${s.side === "local" ? "Suppressed here, not on Mandrill's denylist" : "On Mandrill's denylist, not suppressed here"}</caption>
<thead><tr><th scope="col">Address</th><th scope="col">Here</th><th scope="col">At Mandrill</th></tr></thead>
<tbody>${s.drift.map(
    (d) => html`<tr><th scope="row">${d.email}</th>
<td>${d.local === null ? "—" : `${d.local.reason} (${d.local.source})${d.local.liftedAt === null ? "" : `, lifted by ${d.local.liftedBy ?? "?"}`}`}</td>
<td>${d.mandrill === null ? "—" : `${d.mandrill.reason}, until ${d.mandrill.expiresAt === null ? "forever" : formatTime(d.mandrill.expiresAt)}`}</td></tr>`,
  )}</tbody></table>${s.more ? html`<p>Showing the first ${s.drift.length}.</p>` : ""}`;
}

/** The page: last sync, the sync button, the drift with its side filter. */
export function syncView(s: SyncPageState): SafeHtml {
  return html`<section class="card" aria-labelledby="sync-heading">
<h2 id="sync-heading">Sync with Mandrill</h2>
${lastSync(s)}
<form method="post" action="/accounts/${s.account}/suppressions/sync">${s.csrf}
<p><button type="submit" id="sync-now">Sync with Mandrill</button></p></form>
<p>Imports Mandrill's rejection denylist (bounces, complaints, unsubscribes, manual entries) into this list; addresses on Mandrill's allowlist are lifted. Nothing changes unless the whole list was read.</p>
</section>
<section class="card" aria-labelledby="drift-heading">
<h2 id="drift-heading">Differences</h2>
<form method="get" action="/accounts/${s.account}/suppressions/sync" class="filters">
<p><label for="drift-side">Show</label> <select id="drift-side" name="side">
<option value="local"${attr("selected", s.side === "local")}>only here</option>
<option value="mandrill"${attr("selected", s.side === "mandrill")}>only at Mandrill</option></select>
<button type="submit">Filter</button></p></form>
${driftTable(s)}
</section>`;
}
