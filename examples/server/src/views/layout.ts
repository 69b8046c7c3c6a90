import type { Flash, Session } from "../security/session.js";
import { attr, html, type SafeHtml } from "./html.js";

/** The per-account sections, in the order of the navigation. */
export type Section = "settings" | "webhooks" | "suppressions" | "diagnostics" | "send";

const SECTIONS: readonly { section: Section; label: string }[] = [
  { section: "settings", label: "Email settings" },
  { section: "webhooks", label: "Webhooks" },
  { section: "suppressions", label: "Suppressions" },
  { section: "diagnostics", label: "Diagnostics" },
  { section: "send", label: "Send" },
];

/** What a page puts in the shared frame. */
export interface PageOptions {
  title: string;
  /** The account whose sections the navigation shows. */
  account?: string;
  /** The section the navigation marks as current. */
  section?: Section;
  body: SafeHtml;
}

/** The frame around every page: the simulator banner, the navigation, messages, then the page. */
export interface LayoutOptions extends PageOptions {
  /** `true` when the app talks to the in-process simulator: every page says so. */
  simulator: boolean;
  /** The logged-in session (navigation and Log out); `undefined` on the login page. */
  session: Session | undefined;
  /** Messages shown once, above the page's body. */
  flash: readonly Flash[];
}

const simulatorBanner = html`<div class="banner" role="note" id="simulator-banner"><strong>Local simulator.</strong> This server talks to the Mandrill simulator running in-process, not to Mandrill: nothing leaves this machine. Every API key is accepted unless it starts with <code>invalid</code>, and SMTP settings naming <code>smtp.mandrillapp.com</code> are routed to the simulator's SMTP server. Start with <code>MANDRILL_SIMULATOR=off</code> to use the real Mandrill.</div>`;

/** The hidden CSRF field every form of a logged-in page carries. */
export function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

function navigation(o: LayoutOptions): SafeHtml {
  const s = o.session;
  const accountLinks =
    o.account === undefined
      ? ""
      : html`<li class="account">Account <strong title="${o.account}">${o.account}</strong>:</li>${SECTIONS.map(
          ({ section, label }) =>
            html`<li><a href="/accounts/${o.account}/${section}"${attr('aria-current="page"', o.section === section)}>${label}</a></li>`,
        )}`;
  return html`<nav aria-label="Main"><ul>
<li><a href="/accounts"${attr('aria-current="page"', o.account === undefined && s !== undefined)}>Accounts</a></li>
${accountLinks}
</ul>
${
  s === undefined
    ? ""
    : html`<form method="post" action="/logout" class="logout">${csrfField(s.csrf)}<button type="submit">Log out</button></form>`
}
</nav>`;
}

/** A whole HTML document: no inline script or style (the CSP forbids both). */
export function layout(o: LayoutOptions): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · mandrill-kit</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${o.simulator ? simulatorBanner : ""}
<header>
${navigation(o)}
</header>
<main id="main" tabindex="-1">
<h1>${o.title}</h1>
${o.flash.map((f, i) => html`<p class="flash flash-${f.kind}" role="${f.kind === "error" ? "alert" : "status"}"${i === 0 ? html` tabindex="-1" data-autofocus` : ""}>${f.text}</p>`)}
${o.body}
<p class="visually-hidden" aria-live="polite" id="live-status"></p>
</main>
</body>
</html>`;
}
