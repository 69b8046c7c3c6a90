import type { Diagnosis, TestEmailResult } from "@mandrill-kit/sender";
import { html, type SafeHtml, statusBadge } from "../../views/html.js";
import { diagnosisTable } from "../diagnostics/views.js";

/** What the test-email box shows after "Send a test email": the outcome, or why nothing was sent. */
export type TestOutcome =
  | { kind: "sent"; value: TestEmailResult }
  /** Nothing was sent: rate limited, the form has errors, or the test could not run. */
  | { kind: "not-sent"; message: string };

/** What "Test connection" found, or why it could not run. */
export type ConnectionOutcome = { kind: "checked"; value: Diagnosis } | { kind: "not-run"; message: string };

/** A test email's outcome, with the troubleshooting checks when it failed; focus moves here. */
export function testEmailResult(outcome: TestOutcome): SafeHtml {
  if (outcome.kind === "not-sent") {
    return html`<div class="result result-error" role="alert" id="test-email-result" tabindex="-1" data-autofocus>
<p><strong>No test email was sent:</strong> ${outcome.message}</p></div>`;
  }
  const r = outcome.value;
  // Mandrill's message ends with its hint (what to do). With the troubleshooting checks below, their
  // advice is the one next step: the hint is left out of the sentence. Without them it is said once.
  const hint = r.error?.code === "ERR_MK_MANDRILL_API" ? (r.error.hint ?? "") : "";
  const withoutHint = (text: string) =>
    hint !== "" && r.diagnosis !== null && text.endsWith(` — ${hint}`)
      ? `${text.slice(0, -(hint.length + 3))}.`
      : text;
  const summary = withoutHint(r.summary);
  // One sentence per problem: the summary, then the error only when it says something more.
  const extra = r.error !== null && r.error.message !== r.summary ? withoutHint(r.error.message) : "";
  // The kit's error-code advice is for developers: only Mandrill's own hint is shown, once.
  const said = `${summary} ${extra}`;
  const shownHint = hint !== "" && r.diagnosis === null && !said.includes(hint) ? hint : "";
  return html`<div class="result result-${r.ok ? "ok" : "error"}" role="status" id="test-email-result" tabindex="-1" data-autofocus>
<p><strong>${r.ok ? "Success" : "It did not work"}:</strong> ${summary}</p>
${extra === "" && shownHint === "" ? "" : html`<p>${extra}${shownHint === "" ? "" : html` <span class="hint">${shownHint}</span>`}</p>`}
${r.diagnosis === null ? "" : html`<h3>Troubleshooting</h3>${diagnosisTable(r.diagnosis)}`}
</div>`;
}

/** "Test connection": one line per check, the advice under the failing ones; focus moves here. */
export function connectionResult(outcome: ConnectionOutcome): SafeHtml {
  if (outcome.kind === "not-run") {
    return html`<div class="result result-error" role="alert" id="connection-result" tabindex="-1" data-autofocus>
<p><strong>The connection was not tested:</strong> ${outcome.message}</p></div>`;
  }
  const d = outcome.value;
  return html`<div class="result result-${d.ok ? "ok" : "error"}" role="status" id="connection-result" tabindex="-1" data-autofocus>
<p><strong>${d.ok ? "Connection works" : "Connection problem"}:</strong> ${d.ok ? "Mandrill accepted the key and the server can be reached. No email was sent." : "see below. No email was sent."}</p>
<ul class="checks">${d.checks.map(
    (c) =>
      html`<li>${statusBadge(c.status)} <strong>${c.title}</strong>: ${c.detail}${c.advice === "" ? "" : html` <span class="advice">${c.advice}</span>`}</li>`,
  )}</ul></div>`;
}
