import type { InboxBacklog } from "@mandrill-kit/core";
import { html, type SafeHtml } from "../../views/html.js";

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/**
 * The dispatch backlog of every account: the same figures as the `mandrill_kit.dispatcher.pending`,
 * `.dead` and `.pending.oldest_age` gauges on `/metrics` (read with `store.inbox.backlog()`).
 */
export function backlogSection(backlog: InboxBacklog | undefined, now: number): SafeHtml {
  if (backlog === undefined) return html``;
  const waiting = backlog.oldestDueAt === null ? "—" : age(now - backlog.oldestDueAt);
  return html`<section class="card" aria-labelledby="backlog-heading">
<h2 id="backlog-heading">Dispatch backlog (all accounts)</h2>
<dl class="stats">
<dt>Waiting for a handler</dt><dd id="backlog-pending">${backlog.pending}</dd>
<dt>Dead-lettered</dt><dd id="backlog-dead">${backlog.dead}</dd>
<dt>Longest wait of a due event</dt><dd id="backlog-oldest">${waiting}</dd>
</dl>
<p class="help">The figures <code>/metrics</code> reports as <code>mandrill_kit_dispatcher_pending</code>, <code>mandrill_kit_dispatcher_dead</code> and <code>mandrill_kit_dispatcher_pending_oldest_age</code>.</p>
</section>`;
}
