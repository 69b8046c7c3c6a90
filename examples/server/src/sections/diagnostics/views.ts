import type { SettingsDescription } from "@mandrill-kit/credentials";
import type { Diagnosis } from "@mandrill-kit/sender";
import { formatTime, html, type SafeHtml, scrollTable, statusBadge } from "../../views/html.js";

/** The sender's named checks as a table; the advice sits under what was found, only where there is some. */
export function diagnosisTable(d: Diagnosis): SafeHtml {
  return scrollTable(
    "Checks",
    html`<table class="checks"><caption>Checks</caption>
<thead><tr><th scope="col">Check</th><th scope="col">Result</th><th scope="col">Found, and what to do</th></tr></thead>
<tbody>${d.checks.map(
      (c) =>
        html`<tr><th scope="row">${c.title}</th><td>${statusBadge(c.status)}</td><td>${c.detail}${c.advice === "" ? "" : html`<p class="advice"><strong>What to do:</strong> ${c.advice}</p>`}</td></tr>`,
    )}</tbody></table>`,
  );
}

/** The Diagnostics page: the checks and the unsubscribe mode. */
export function diagnosticsView(
  account: string,
  diagnosis: Diagnosis,
  described: SettingsDescription | undefined,
): SafeHtml {
  return html`<p>${diagnosis.ok ? "Everything essential works." : "Something needs attention: see the advice below."} Checked ${formatTime(diagnosis.at)}.</p>
${diagnosisTable(diagnosis)}
<h2>Unsubscribe</h2>
<p>Mode: <strong>${described?.unsubscribeMode ?? "mandrill"}</strong> (change it in <a href="/accounts/${account}/settings">Email settings</a>). ${
    described?.unsubscribeMode === "one-click"
      ? "Every message gets List-Unsubscribe and List-Unsubscribe-Post headers (RFC 8058) and a footer link served by this app."
      : "One-click mode adds List-Unsubscribe headers served by this app."
  }</p>`;
}
