import type { SendResult } from "@mandrill-kit/core";
import { errorSummary, fieldMarkup } from "../../views/form.js";
import { html, type SafeHtml, scrollTable, statusBadge } from "../../views/html.js";
import { recipientsView } from "./message.js";

/** The last send's outcome, shown once after its redirect. */
export interface LastSend {
  to: string;
  subject?: string;
  text?: string;
  value: SendResult;
  error: string | null;
}

/** The form as typed, with the problem refusing it (nothing was sent). */
export interface RefusedSend {
  to: string;
  subject: string;
  text: string;
  error: { field: string; message: string };
}

function resultTable(last: LastSend): SafeHtml {
  return html`<div class="result" role="status" id="send-result" tabindex="-1" data-autofocus>${last.error === null ? "" : html`<p class="flash flash-error">${last.error}</p>`}
${scrollTable(
  "Result",
  html`<table><caption>Result (${last.value.transport.toUpperCase()})</caption><thead><tr><th scope="col">Recipient</th><th scope="col">Status</th><th scope="col">Reason</th></tr></thead>
<tbody>${recipientsView(last.value).map((r) => html`<tr><th scope="row">${r.email}</th><td>${statusBadge(r.status)}</td><td>${r.reason ?? ""}</td></tr>`)}</tbody></table>`,
)}</div>`;
}

/** The Send page: a host route's form and the per-recipient result of the last send. */
export function sendView(
  account: string,
  csrf: SafeHtml,
  last: LastSend | undefined,
  refused?: RefusedSend,
): SafeHtml {
  const f = fieldMarkup(refused === undefined ? [] : [refused.error], { to: "To" });
  const typed = refused ?? last;
  return html`<p>A host route, as your app would have one: this form posts to <code>POST /accounts/${account}/send</code>, whose handler calls <code>req.mandrill.send("${account}", message)</code>. Suppressed recipients never reach Mandrill.</p>
${refused === undefined ? "" : errorSummary("Nothing was sent. Fix this:", [refused.error], { to: "To" }, { to: "send-to" })}
<form method="post" action="/accounts/${account}/send" class="card" novalidate>
${csrf}
<div class="field"><label for="send-to">To (one or more addresses, comma-separated)</label><input id="send-to" name="to" class="long" required value="${typed?.to ?? ""}"${f.invalid("to")}${f.describedBy("to")}>${refused === undefined ? "" : html`<span class="field-error" id="to-error">To ${refused.error.message}</span>`}</div>
<div class="field"><label for="send-subject">Subject</label><input id="send-subject" name="subject" class="long" required value="${typed?.subject ?? "Hello from mandrill-kit"}"></div>
<div class="field"><label for="send-text">Text</label><textarea id="send-text" name="text" rows="4">${typed?.text ?? "This message was sent through the kit's sender."}</textarea></div>
<p><button type="submit">Send</button></p>
</form>
${last === undefined ? "" : resultTable(last)}`;
}
