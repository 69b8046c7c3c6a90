import type { SendResult } from "@mandrill-kit/core";
import { html, type SafeHtml, statusBadge } from "../../views/html.js";
import { recipientsView } from "./message.js";

/** The last send's outcome, shown once after its redirect. */
export interface LastSend {
  to: string;
  value: SendResult;
  error: string | null;
}

function resultTable(last: LastSend): SafeHtml {
  return html`<div class="result" role="status" id="send-result">${last.error === null ? "" : html`<p class="flash flash-error">${last.error}</p>`}
<table><caption>Result (${last.value.transport.toUpperCase()})</caption><thead><tr><th scope="col">Recipient</th><th scope="col">Status</th><th scope="col">Reason</th></tr></thead>
<tbody>${recipientsView(last.value).map((r) => html`<tr><th scope="row">${r.email}</th><td>${statusBadge(r.status)}</td><td>${r.reason ?? ""}</td></tr>`)}</tbody></table></div>`;
}

/** The Send page: a host route's form and the per-recipient result of the last send. */
export function sendView(account: string, csrf: SafeHtml, last: LastSend | undefined): SafeHtml {
  return html`<p>A host route, as your app would have one: this form posts to <code>POST /accounts/${account}/send</code>, whose handler calls <code>req.mandrill.send("${account}", message)</code>. Suppressed recipients never reach Mandrill.</p>
<form method="post" action="/accounts/${account}/send" class="card">
${csrf}
<p><label for="send-to">To (one or more addresses, comma-separated)</label> <input id="send-to" name="to" required size="50" value="${last?.to ?? ""}"></p>
<p><label for="send-subject">Subject</label> <input id="send-subject" name="subject" required value="Hello from mandrill-kit"></p>
<p><label for="send-text">Text</label> <textarea id="send-text" name="text" rows="4" cols="60">This message was sent through the kit's sender.</textarea></p>
<p><button type="submit">Send</button></p>
</form>
${last === undefined ? "" : resultTable(last)}`;
}
