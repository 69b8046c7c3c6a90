import {
  type FieldError,
  isAccountId,
  isMandrillKitError,
  MandrillKitApiError,
  MandrillKitSendError,
  MandrillKitValidationError,
  type SendResult,
  SUPPRESSION_REASONS,
  type SuppressionReason,
} from "@mandrill-kit/core";
import type { MandrillSettingsInput, SettingsDescription } from "@mandrill-kit/credentials";
import type { Diagnosis, TestEmailResult } from "@mandrill-kit/sender";
import express, { type NextFunction, type Request, type Response, Router } from "express";
import { type AppDeps, parseRecipients, recipientsView } from "./deps.js";
import { attr, formatTime, html, type SafeHtml } from "./html.js";
import { registerCallbackUrl, SUPPRESSION_EVENTS, WEBHOOK_EVENT_CHOICES } from "./register-webhook.js";
import { type Flash, type Session, safeEqual } from "./session.js";
import { exportCsv, importCsv, manualSuppression, parseReason } from "./suppressions.js";

type Section = "settings" | "webhooks" | "suppressions" | "diagnostics" | "send";

interface PageOptions {
  title: string;
  session?: Session | undefined;
  account?: string;
  section?: Section;
  body: SafeHtml;
}

/** What a POST leaves for the next GET of a page (Post/Redirect/Get). */
type PageResult =
  | { kind: "test-email"; account: string; value: TestEmailResult }
  | { kind: "send"; account: string; to: string; value: SendResult; error: string | null };

function errorText(error: unknown): string {
  if (error instanceof MandrillKitApiError) return `${error.message} ${error.hint}`.trim();
  if (isMandrillKitError(error)) return error.message;
  return "Something went wrong; the server log has the details.";
}

function fieldsOf(error: unknown): FieldError[] {
  return error instanceof MandrillKitValidationError ? [...error.fields] : [];
}

function statusBadge(status: string): SafeHtml {
  return html`<span class="badge badge-${status}">${status}</span>`;
}

/** The server-rendered admin pages (cookie session, CSRF on every form). */
export function pagesRouter(deps: AppDeps): Router {
  const { store, credentials, sessions, webhooks } = deps;
  const router = Router();

  function layout(res: Response, status: number, o: PageOptions): void {
    const s = o.session;
    const flash = s?.flash.splice(0) ?? [];
    const nav = (section: Section, label: string) =>
      html`<li><a href="/accounts/${o.account ?? ""}/${section}"${attr('aria-current="page"', o.section === section)}>${label}</a></li>`;
    const body = html`<!doctype html>
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
${
  deps.simulator
    ? html`<div class="banner" role="note" id="simulator-banner"><strong>Local simulator.</strong> This server talks to the Mandrill simulator running in-process, not to Mandrill: nothing leaves this machine. Every API key is accepted unless it starts with <code>invalid</code>, and SMTP settings naming <code>smtp.mandrillapp.com</code> are routed to the simulator's SMTP server. Start with <code>MANDRILL_SIMULATOR=off</code> to use the real Mandrill.</div>`
    : ""
}
<header>
<nav aria-label="Main"><ul>
<li><a href="/accounts"${attr('aria-current="page"', o.account === undefined && s?.authenticated === true)}>Accounts</a></li>
${
  o.account === undefined
    ? ""
    : html`<li class="account">Account <strong>${o.account}</strong>:</li>${nav("settings", "Email settings")}${nav("webhooks", "Webhooks")}${nav("suppressions", "Suppressions")}${nav("diagnostics", "Diagnostics")}${nav("send", "Send")}`
}
</ul>
${
  s?.authenticated
    ? html`<form method="post" action="/logout" class="logout"><input type="hidden" name="_csrf" value="${s.csrf}"><button type="submit">Log out</button></form>`
    : ""
}
</nav>
</header>
<main id="main">
<h1>${o.title}</h1>
${flash.map((f: Flash) => html`<p class="flash flash-${f.kind}" role="${f.kind === "error" ? "alert" : "status"}">${f.text}</p>`)}
${o.body}
</main>
</body>
</html>`;
    res.status(status).type("html").set("Cache-Control", "no-store").send(body.value);
  }

  const csrfField = (s: Session) => html`<input type="hidden" name="_csrf" value="${s.csrf}">`;

  function sessionOf(res: Response): Session {
    return res.locals.session as Session;
  }

  function redirect(res: Response, to: string): void {
    res.redirect(303, to);
  }

  function flash(res: Response, kind: Flash["kind"], text: string): void {
    sessionOf(res).flash.push({ kind, text });
  }

  router.use(express.urlencoded({ extended: false, limit: "2mb", parameterLimit: 200 }));

  // ------------------------------------------------------------------ login
  function loginPage(res: Response, session: Session, status: number, error?: string): void {
    layout(res, status, {
      title: "Log in",
      session,
      body: html`${error === undefined ? "" : html`<p class="flash flash-error" role="alert">${error}</p>`}
<form method="post" action="/login" class="card">
${csrfField(session)}
<p><label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required aria-describedby="token-help"></p>
<p id="token-help" class="help">The <code>ADMIN_TOKEN</code> the server was started with (printed at start when generated).</p>
<p><button type="submit">Log in</button></p>
</form>`,
    });
  }

  router.get("/login", (req, res) => {
    const session = sessions.ensure(req, res);
    if (session.authenticated) return redirect(res, "/accounts");
    loginPage(res, session, 200);
  });

  router.post("/login", sessions.csrf(), (req, res) => {
    const limit = deps.limits.login.take(req.ip ?? "unknown");
    const session = sessions.ensure(req, res);
    if (!limit.ok) {
      res.set("Retry-After", String(limit.retryAfterSeconds));
      return loginPage(
        res,
        session,
        429,
        `Too many attempts. Try again in ${limit.retryAfterSeconds} seconds.`,
      );
    }
    const token = typeof req.body.token === "string" ? req.body.token.trim() : "";
    if (token === "" || !safeEqual(token, deps.adminToken)) {
      deps.log.warn({ ip: req.ip }, "failed admin login");
      return loginPage(res, session, 401, "That is not the admin token.");
    }
    sessions.login(req, res);
    redirect(res, "/accounts");
  });

  router.post("/logout", sessions.csrf(), (req, res) => {
    sessions.logout(req, res);
    redirect(res, "/login");
  });

  // Everything below needs a logged-in session.
  router.use(function requireLogin(req: Request, res: Response, next: NextFunction) {
    const session = sessions.load(req);
    if (session?.authenticated !== true) {
      if (req.method === "GET" || req.method === "HEAD") return redirect(res, "/login");
      res.status(403).type("text/plain").send("Log in first.");
      return;
    }
    res.locals.session = session;
    next();
  });
  router.use(sessions.csrf());

  router.get("/", (_req, res) => redirect(res, "/accounts"));

  // ------------------------------------------------------------------ accounts
  router.get("/accounts", async (_req, res) => {
    const s = sessionOf(res);
    const page = await credentials.list({ limit: 1000 });
    layout(res, 200, {
      title: "Accounts",
      session: s,
      body: html`<p>Each account (a customer of the host app) brings its own Mandrill account: API key, From address and Callback URL.</p>
${
  page.items.length === 0
    ? html`<p>No account is set up yet. Create one below.</p>`
    : html`<table><caption>Accounts with Mandrill settings</caption>
<thead><tr><th scope="col">Account</th><th scope="col">Transport</th><th scope="col">From</th><th scope="col">API key</th><th scope="col">Webhook key</th><th scope="col">Updated</th></tr></thead>
<tbody>${page.items.map(
        (a) =>
          html`<tr><th scope="row"><a href="/accounts/${a.account}/settings">${a.account}</a></th><td>${a.transport.toUpperCase()}</td><td>${a.fromEmail}</td><td>${a.hasApiKey ? "saved" : "missing"}</td><td>${a.hasWebhookKey ? "saved" : "missing"}</td><td>${formatTime(a.updatedAt)}</td></tr>`,
      )}</tbody></table>`
}
<h2 id="create">Create an account</h2>
<form method="post" action="/accounts" class="card">
${csrfField(s)}
<p><label for="account">Account id</label>
<input id="account" name="account" required maxlength="128" pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]*" aria-describedby="account-help"></p>
<p id="account-help" class="help">Letters, digits, <code>_ - .</code>; it becomes part of the Callback URL. The account is listed once its settings are saved.</p>
<p><button type="submit">Create and configure</button></p>
</form>`,
    });
  });

  router.post("/accounts", (req, res) => {
    const account = typeof req.body.account === "string" ? req.body.account.trim() : "";
    if (!isAccountId(account)) {
      flash(
        res,
        "error",
        "An account id is 1–128 letters, digits, _ - or ., starting with a letter or digit.",
      );
      return redirect(res, "/accounts#create");
    }
    redirect(res, `/accounts/${account}/settings`);
  });

  // Every /accounts/:account/... route checks the id once.
  router.use("/accounts/:account", function checkAccount(req: Request, res: Response, next: NextFunction) {
    if (!isAccountId(req.params.account)) {
      layout(res, 404, {
        title: "No such account",
        session: sessionOf(res),
        body: html`<p><a href="/accounts">Back to the accounts</a></p>`,
      });
      return;
    }
    next();
  });

  router.get("/accounts/:account", (req, res) => redirect(res, `/accounts/${req.params.account}/settings`));

  // ------------------------------------------------------------------ settings
  function settingsPage(
    res: Response,
    account: string,
    described: SettingsDescription | undefined,
    status: number,
    input?: Record<string, string>,
    errors: FieldError[] = [],
  ): void {
    const s = sessionOf(res);
    const value = (name: keyof SettingsDescription & string, fallback: string) =>
      input?.[name] ?? (described === undefined ? fallback : String(described[name] ?? ""));
    const errorFor = (field: string) => errors.find((e) => e.field === field);
    const describedBy = (field: string, help?: string) => {
      const ids = [help, errorFor(field) ? `${field}-error` : undefined].filter((x) => x !== undefined);
      return ids.length === 0 ? "" : html` aria-describedby="${ids.join(" ")}"`;
    };
    const invalid = (field: string) => attr('aria-invalid="true"', errorFor(field) !== undefined);
    const err = (field: string) => {
      const e = errorFor(field);
      return e === undefined ? "" : html`<span class="field-error" id="${field}-error">${e.message}</span>`;
    };
    const transport = value("transport", "smtp");
    const currentWebhookKey = described?.webhookKeys.find((k) => k.current);
    const pending = s.result as PageResult | undefined;
    let testResult: TestEmailResult | undefined;
    if (pending?.kind === "test-email" && pending.account === account) {
      testResult = pending.value;
      s.result = undefined;
    }
    const unsub = value("unsubscribeMode", "mandrill");
    layout(res, status, {
      title: "Email settings — Mandrill",
      session: s,
      account,
      section: "settings",
      body: html`${
        errors.length > 0
          ? html`<div class="flash flash-error" role="alert"><p>The settings were not saved:</p><ul>${errors.map((e) => html`<li><a href="#${e.field}">${e.field}</a> ${e.message}</li>`)}</ul></div>`
          : ""
      }
<form method="post" action="/accounts/${account}/settings" class="card" id="settings-form" novalidate>
${csrfField(s)}
<fieldset><legend>Transport</legend>
<p><input type="radio" id="transport-smtp" name="transport" value="smtp"${attr("checked", transport === "smtp")}> <label for="transport-smtp">SMTP</label>
<input type="radio" id="transport-api" name="transport" value="api"${attr("checked", transport === "api")}> <label for="transport-api">HTTP API</label></p>
</fieldset>
<p><label for="host">Host</label>
<input id="host" name="host" value="${value("host", "smtp.mandrillapp.com")}"${invalid("host")}${describedBy("host", "host-help")}> ${err("host")}</p>
<p class="help" id="host-help">${deps.simulator ? "smtp.mandrillapp.com is routed to the local simulator's SMTP server." : "Mandrill's SMTP host is smtp.mandrillapp.com."}</p>
<p><label for="port">Port</label>
<input id="port" name="port" inputmode="numeric" value="${value("port", "587")}"${invalid("port")}${describedBy("port", "port-help")}> ${err("port")}</p>
<p class="help" id="port-help">587, 25 or 2525 use STARTTLS; 465 uses TLS. Try 2525 if your host blocks 587.</p>
<p><label for="username">Username</label>
<input id="username" name="username" autocomplete="off" value="${value("username", "")}"${invalid("username")}${describedBy("username")}> ${err("username")}</p>
<p><label for="apiKey">API key</label>
<input id="apiKey" name="apiKey" type="password" autocomplete="new-password" value=""${invalid("apiKey")}${describedBy("apiKey", "apiKey-help")}> ${err("apiKey")}</p>
<p class="help" id="apiKey-help">${
        described?.apiKey
          ? html`Saved: <span class="masked" id="apiKey-saved">${described.apiKey}</span>. Leave empty to keep it; it is never shown again.`
          : "Write-only: once saved it is shown masked. Mandrill → Settings → SMTP & API Info."
      }</p>
<p><label for="fromEmail">From address</label>
<input id="fromEmail" name="fromEmail" type="email" autocomplete="off" value="${value("fromEmail", "")}"${invalid("fromEmail")}${describedBy("fromEmail")}> ${err("fromEmail")}</p>
<p><label for="fromName">From name</label>
<input id="fromName" name="fromName" autocomplete="off" value="${value("fromName", "")}"${invalid("fromName")}${describedBy("fromName")}> ${err("fromName")}</p>
<p><label for="webhookKey">Webhook key</label>
<input id="webhookKey" name="webhookKey" type="password" autocomplete="new-password" value=""${invalid("webhookKey")}${describedBy("webhookKey", "webhookKey-help")}> ${err("webhookKey")}</p>
<p class="help" id="webhookKey-help">${
        currentWebhookKey === undefined
          ? html`Mandrill shows it next to the Callback URL; or use <a href="/accounts/${account}/webhooks">Register the Callback URL</a> to save it automatically.`
          : html`Current: <span class="masked">${currentWebhookKey.masked}</span>. A new key becomes current; the previous one stays accepted until removed.`
      }</p>
<p><label for="unsubscribeMode">Unsubscribe links</label>
<select id="unsubscribeMode" name="unsubscribeMode">
<option value="mandrill"${attr("selected", unsub === "mandrill")}>Mandrill's footer / *|UNSUB|* merge tag</option>
<option value="one-click"${attr("selected", unsub === "one-click")}>One-click List-Unsubscribe (served by this app)</option>
<option value="none"${attr("selected", unsub === "none")}>None</option>
</select></p>
<p><button type="submit">Save</button></p>
</form>
${
  described === undefined
    ? ""
    : html`<p>Callback URL: <code id="callback-url-short">${described.callbackUrl}</code> (<a href="/accounts/${account}/webhooks">Webhooks</a>)</p>`
}
<section aria-labelledby="test-email-heading" class="card" id="test-email">
<h2 id="test-email-heading">Send a test email</h2>
<form method="post" action="/accounts/${account}/test-email">
${csrfField(s)}
<p><label for="test-to">Send to</label>
<input id="test-to" name="to" type="email" required value="${testResult?.to ?? ""}"></p>
<p><button type="submit"${attr("disabled", described === undefined)}>Send a test email</button>${described === undefined ? " (save the settings first)" : ""}</p>
</form>
${testResult === undefined ? "" : testEmailResult(testResult)}
${
  described?.lastVerification && testResult === undefined
    ? html`<p>Last check ${formatTime(described.lastVerification.at)}: ${described.lastVerification.ok ? "OK" : "failed"} — ${described.lastVerification.summary}</p>`
    : ""
}
</section>`,
    });
  }

  function diagnosisTable(d: Diagnosis): SafeHtml {
    return html`<table class="checks"><caption>Checks</caption>
<thead><tr><th scope="col">Check</th><th scope="col">Result</th><th scope="col">Found</th><th scope="col">What to do</th></tr></thead>
<tbody>${d.checks.map(
      (c) =>
        html`<tr><th scope="row">${c.title}</th><td>${statusBadge(c.status)}</td><td>${c.detail}</td><td>${c.advice}</td></tr>`,
    )}</tbody></table>`;
  }

  function testEmailResult(r: TestEmailResult): SafeHtml {
    return html`<div class="result result-${r.ok ? "ok" : "error"}" role="status" id="test-email-result">
<p><strong>${r.ok ? "Success" : "It did not work"}:</strong> ${r.summary}</p>
${r.error === null ? "" : html`<p>${r.error.message}${r.error.hint ? html` <span class="hint">${r.error.hint}</span>` : ""}</p>`}
${r.diagnosis === null ? "" : html`<h3>Troubleshooting</h3>${diagnosisTable(r.diagnosis)}`}
</div>`;
  }

  router.get("/accounts/:account/settings", async (req, res) => {
    const account = req.params.account as string;
    settingsPage(res, account, await credentials.describe(account), 200);
  });

  router.post("/accounts/:account/settings", async (req, res) => {
    const account = req.params.account as string;
    const body = req.body as Record<string, unknown>;
    const text = (name: string) => (typeof body[name] === "string" ? (body[name] as string) : undefined);
    const input: MandrillSettingsInput = {};
    const transport = text("transport");
    if (transport !== undefined) input.transport = transport as MandrillSettingsInput["transport"];
    for (const name of ["host", "port", "username", "fromEmail", "fromName"] as const) {
      const v = text(name);
      if (v !== undefined) input[name] = v;
    }
    const unsub = text("unsubscribeMode");
    if (unsub !== undefined) input.unsubscribeMode = unsub as MandrillSettingsInput["unsubscribeMode"];
    // Secrets are write-only: an empty field keeps the stored value.
    const apiKey = text("apiKey")?.trim();
    if (apiKey) input.apiKey = apiKey;
    const webhookKey = text("webhookKey")?.trim();
    if (webhookKey) input.webhookKey = webhookKey;
    try {
      await credentials.save(account, input);
    } catch (error) {
      const fields = fieldsOf(error);
      if (fields.length === 0) {
        flash(res, "error", errorText(error));
        return redirect(res, `/accounts/${account}/settings`);
      }
      const shown: Record<string, string> = {};
      for (const name of [
        "transport",
        "host",
        "port",
        "username",
        "fromEmail",
        "fromName",
        "unsubscribeMode",
      ]) {
        const v = text(name);
        if (v !== undefined) shown[name] = v;
      }
      return settingsPage(res, account, await credentials.describe(account), 422, shown, fields);
    }
    flash(res, "ok", "Saved. Secrets are stored encrypted and shown masked from now on.");
    redirect(res, `/accounts/${account}/settings`);
  });

  router.post("/accounts/:account/test-email", async (req, res) => {
    const account = req.params.account as string;
    const s = sessionOf(res);
    const limit = deps.limits.testEmail.take(`${req.ip}|${account}`);
    if (!limit.ok) {
      flash(res, "error", `Too many test emails. Try again in ${limit.retryAfterSeconds} seconds.`);
      return redirect(res, `/accounts/${account}/settings#test-email`);
    }
    const to = typeof req.body.to === "string" ? req.body.to.trim() : "";
    try {
      const value = await deps.sender.sendTestEmail(account, to);
      s.result = { kind: "test-email", account, value } satisfies PageResult;
    } catch (error) {
      flash(res, "error", errorText(error));
    }
    redirect(res, `/accounts/${account}/settings#test-email`);
  });

  // ------------------------------------------------------------------ webhooks
  router.get("/accounts/:account/webhooks", async (req, res) => {
    const account = req.params.account as string;
    const s = sessionOf(res);
    const described = await credentials.describe(account);
    const callbackUrl = credentials.callbackUrl(account);
    const [stats, recent, dead, quarantined] = await Promise.all([
      store.inbox.stats(account),
      store.inbox.list(account, { limit: 20 }),
      store.inbox.list(account, { state: "dead", limit: 50 }),
      store.inbox.listQuarantined(account, { limit: 20 }),
    ]);
    const mismatches = webhooks.diagnoses(account);
    const byType = Object.entries(stats.byType).sort(([a], [b]) => a.localeCompare(b));
    layout(res, 200, {
      title: "Webhooks",
      session: s,
      account,
      section: "webhooks",
      body: html`<section class="card" aria-labelledby="callback-heading">
<h2 id="callback-heading">Callback URL</h2>
<p><label for="callback-url">Give Mandrill this URL (Settings → Webhooks → Add a webhook)</label>
<input id="callback-url" readonly value="${callbackUrl}" size="60">
<button type="button" class="copy" data-copy="callback-url" hidden>Copy</button></p>
<p class="help">Mandrill signs every batch with the webhook's key over exactly this URL. Behind a proxy, it must be the public address (<code>PUBLIC_URL</code>).</p>
<form method="post" action="/accounts/${account}/webhooks/register">
${csrfField(s)}
<fieldset><legend>Mandrill events to send</legend>
<ul class="events">${WEBHOOK_EVENT_CHOICES.map(
        (c) =>
          html`<li><input type="checkbox" id="event-${c.event}" name="events" value="${c.event}"${attr("checked", (SUPPRESSION_EVENTS as readonly string[]).includes(c.event))}> <label for="event-${c.event}">${c.label} <code>${c.event}</code></label></li>`,
      )}</ul>
<p class="help">Bounced, soft-bounced, rejected, unsubscribed and spam keep the suppression list right.</p>
</fieldset>
<p><button type="submit" id="register-webhook"${attr("disabled", !described?.hasApiKey)}>Register the Callback URL with Mandrill</button>
${described?.hasApiKey ? "" : html`<span class="help">Save an API key first.</span>`}</p>
<p class="help">Uses the account's API key to add (or update) the webhook in Mandrill and saves the key Mandrill returns, so nobody copies keys by hand.</p>
</form>
<p>Webhook keys: ${
        described === undefined || described.webhookKeys.length === 0
          ? html`<strong id="webhook-key-status">none saved — webhooks are refused until one is</strong>`
          : html`<span id="webhook-key-status">${described.webhookKeys.map((k) => html`<span class="masked">${k.masked}</span>${k.current ? " (current)" : ""} `)}</span>`
      }</p>
</section>
<section class="card" aria-labelledby="received-heading">
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
    : html`<table><caption>Events by type</caption><thead><tr><th scope="col">Type</th><th scope="col">Count</th></tr></thead><tbody>${byType.map(([t, n]) => html`<tr><th scope="row">${t}</th><td>${n}</td></tr>`)}</tbody></table>`
}
${
  recent.items.length === 0
    ? ""
    : html`<table id="recent-events"><caption>Latest events</caption><thead><tr><th scope="col">Received</th><th scope="col">Type</th><th scope="col">Address</th><th scope="col">State</th></tr></thead>
<tbody>${recent.items.map((e) => html`<tr><td>${formatTime(e.receivedAt)}</td><td>${e.type}</td><td>${e.email ?? "—"}</td><td>${e.state}</td></tr>`)}</tbody></table>`
}
</section>
<section class="card" aria-labelledby="dead-heading">
<h2 id="dead-heading">Dead-lettered handler runs</h2>
${
  dead.items.length === 0
    ? html`<p>None.</p>`
    : html`<table><thead><tr><th scope="col">Event</th><th scope="col">Address</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>${dead.items.map(
        (
          e,
        ) => html`<tr><td>${e.type}</td><td>${e.email ?? "—"}</td><td>${e.attempts}</td><td>${e.lastError ?? ""}</td>
<td><form method="post" action="/accounts/${account}/webhooks/replay">${csrfField(s)}<input type="hidden" name="key" value="${e.key}"><button type="submit">Replay</button></form></td></tr>`,
      )}</tbody></table>`
}
</section>
<section class="card" aria-labelledby="quarantine-heading">
<h2 id="quarantine-heading">Quarantined batches</h2>
<p class="help">Signed bodies that could not be read: kept whole, never lost.</p>
${
  quarantined.items.length === 0
    ? html`<p>None.</p>`
    : html`<ul>${quarantined.items.map((q) => html`<li>${formatTime(q.receivedAt)} — ${q.error}<pre>${q.body.slice(0, 300)}${q.body.length > 300 ? "…" : ""}</pre></li>`)}</ul>`
}
</section>
${
  mismatches.length === 0
    ? ""
    : html`<section class="card" aria-labelledby="mismatch-heading"><h2 id="mismatch-heading">Signature mismatches</h2><ul>${mismatches.map(
        (m) => html`<li>${formatTime(m.at)}: ${m.finding} ${m.advice}</li>`,
      )}</ul></section>`
}`,
    });
  });

  router.post("/accounts/:account/webhooks/register", async (req, res) => {
    const account = req.params.account as string;
    const raw: unknown = req.body.events;
    const events = raw === undefined ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)];
    try {
      const r = await registerCallbackUrl({ credentials, api: deps.sender.api }, account, events);
      flash(
        res,
        "ok",
        `${r.created ? "Registered" : "Updated"} the Callback URL with Mandrill (webhook ${r.webhookId}; events ${r.events.join(", ")}). ${r.keySaved ? `Saved its key ${r.webhookKey}.` : `Its key ${r.webhookKey} was already saved.`}`,
      );
    } catch (error) {
      flash(res, "error", `Could not register the Callback URL: ${errorText(error)}`);
    }
    redirect(res, `/accounts/${account}/webhooks`);
  });

  router.post("/accounts/:account/webhooks/replay", async (req, res) => {
    const account = req.params.account as string;
    const key = typeof req.body.key === "string" ? req.body.key : "";
    const ok = key !== "" && (await webhooks.replay(account, key));
    flash(res, ok ? "ok" : "error", ok ? "The event will run again." : "No such event.");
    redirect(res, `/accounts/${account}/webhooks`);
  });

  // ------------------------------------------------------------------ suppressions
  router.get("/accounts/:account/suppressions", async (req, res) => {
    const account = req.params.account as string;
    const s = sessionOf(res);
    const search = typeof req.query.search === "string" ? req.query.search.trim() : "";
    const reason = parseReason(req.query.reason);
    const status =
      req.query.status === "all" || req.query.status === "lifted" || req.query.status === "expired"
        ? req.query.status
        : "active";
    const page = await store.suppressions.list(account, {
      ...(search === "" ? {} : { search }),
      ...(reason === undefined ? {} : { reason }),
      status,
      limit: 500,
    });
    const count = await store.suppressions.count(account);
    const reasonOptions = (selected: SuppressionReason | undefined, any: boolean) =>
      html`${any ? html`<option value="">Any reason</option>` : ""}${SUPPRESSION_REASONS.map((r) => html`<option value="${r}"${attr("selected", r === selected)}>${r}</option>`)}`;
    layout(res, 200, {
      title: "Suppressions",
      session: s,
      account,
      section: "suppressions",
      body: html`<p>Addresses this account never mails: ${count} active. The sender checks every recipient against this list before anything reaches Mandrill.</p>
<form method="get" action="/accounts/${account}/suppressions" class="filters" role="search">
<p><label for="search">Search</label> <input id="search" name="search" type="search" value="${search}">
<label for="reason-filter">Reason</label> <select id="reason-filter" name="reason">${reasonOptions(reason, true)}</select>
<label for="status-filter">Status</label> <select id="status-filter" name="status">${(["active", "lifted", "expired", "all"] as const).map((v) => html`<option value="${v}"${attr("selected", v === status)}>${v}</option>`)}</select>
<button type="submit">Filter</button></p>
</form>
${
  page.items.length === 0
    ? html`<p id="suppressions-empty">No suppressions match.</p>`
    : html`<table id="suppressions"><caption>Suppressed addresses</caption>
<thead><tr><th scope="col">Address</th><th scope="col">Reason</th><th scope="col">Source</th><th scope="col">Since</th><th scope="col">Until</th><th scope="col">Detail</th><th scope="col">Lift</th></tr></thead>
<tbody>${page.items.map(
        (
          e,
          i,
        ) => html`<tr><th scope="row">${e.email}</th><td>${e.reason}</td><td>${e.source}</td><td>${formatTime(e.createdAt)}</td><td>${e.expiresAt === null ? "forever" : formatTime(e.expiresAt)}</td><td>${e.liftedAt === null ? (e.detail ?? "") : `lifted by ${e.liftedBy ?? "?"}: ${e.liftReason ?? ""}`}</td>
<td>${
          e.liftedAt === null
            ? html`<form method="post" action="/accounts/${account}/suppressions/lift" class="inline">${csrfField(s)}<input type="hidden" name="email" value="${e.email}">
<label for="lift-reason-${i}" class="visually-hidden">Why lift ${e.email}</label><input id="lift-reason-${i}" name="reason" required placeholder="why" size="14"> <button type="submit">Lift</button></form>`
            : ""
        }</td></tr>`,
      )}</tbody></table>`
}
<section class="card" aria-labelledby="add-heading">
<h2 id="add-heading">Add an address</h2>
<form method="post" action="/accounts/${account}/suppressions">
${csrfField(s)}
<p><label for="add-email">Address</label> <input id="add-email" name="email" type="email" required>
<label for="add-reason">Reason</label> <select id="add-reason" name="reason">${reasonOptions("custom", false)}</select></p>
<p><label for="add-detail">Note</label> <input id="add-detail" name="detail" maxlength="500">
<label for="add-expires">Until (optional)</label> <input id="add-expires" name="expiresAt" type="date"></p>
<p><button type="submit">Suppress</button></p>
</form>
</section>
<section class="card" aria-labelledby="csv-heading">
<h2 id="csv-heading">CSV</h2>
<p><a href="/accounts/${account}/suppressions.csv" download>Export the active suppressions as CSV</a></p>
<form method="post" action="/accounts/${account}/suppressions/import">
${csrfField(s)}
<p><label for="csv">Import: paste CSV with a header line (<code>email,reason,detail,expiresAt</code>; the export's format works)</label>
<textarea id="csv" name="csv" rows="6" cols="70" required></textarea></p>
<p class="js-only" hidden><label for="csv-file">…or choose a file</label> <input id="csv-file" type="file" accept=".csv,text/csv" data-fill="csv"></p>
<p><button type="submit">Import</button></p>
</form>
</section>`,
    });
  });

  router.post("/accounts/:account/suppressions", async (req, res) => {
    const account = req.params.account as string;
    try {
      const added = await store.suppressions.add(
        manualSuppression(account, req.body as Record<string, unknown>),
      );
      flash(
        res,
        "ok",
        `${added.suppression.email}: ${added.status === "unchanged" ? "already suppressed for at least as long" : "suppressed"}.`,
      );
    } catch (error) {
      const fields = fieldsOf(error);
      flash(
        res,
        "error",
        fields.length > 0 ? fields.map((f) => `${f.field} ${f.message}`).join("; ") : errorText(error),
      );
    }
    redirect(res, `/accounts/${account}/suppressions`);
  });

  router.post("/accounts/:account/suppressions/lift", async (req, res) => {
    const account = req.params.account as string;
    const email = typeof req.body.email === "string" ? req.body.email : "";
    const why = typeof req.body.reason === "string" ? req.body.reason.trim() : "";
    if (why === "") {
      flash(res, "error", "Say why the address is lifted.");
      return redirect(res, `/accounts/${account}/suppressions`);
    }
    try {
      const lifted = await store.suppressions.remove(account, email, {
        by: "admin",
        reason: why.slice(0, 500),
      });
      flash(
        res,
        lifted ? "ok" : "error",
        lifted ? `${email} can be mailed again.` : `${email} was not suppressed.`,
      );
    } catch (error) {
      flash(res, "error", errorText(error));
    }
    redirect(res, `/accounts/${account}/suppressions`);
  });

  router.get("/accounts/:account/suppressions.csv", async (req, res) => {
    const account = req.params.account as string;
    res
      .type("text/csv")
      .set("Content-Disposition", `attachment; filename="suppressions-${account}.csv"`)
      .send(await exportCsv(store, account));
  });

  router.post("/accounts/:account/suppressions/import", async (req, res) => {
    const account = req.params.account as string;
    try {
      const { imported } = await importCsv(
        store,
        account,
        typeof req.body.csv === "string" ? req.body.csv : "",
      );
      flash(res, "ok", `Imported ${imported} address(es).`);
    } catch (error) {
      const fields = fieldsOf(error);
      flash(
        res,
        "error",
        `${errorText(error)} ${fields.map((f) => `${f.field}: ${f.message}`).join("; ")}`.trim(),
      );
    }
    redirect(res, `/accounts/${account}/suppressions`);
  });

  // ------------------------------------------------------------------ diagnostics
  router.get("/accounts/:account/diagnostics", async (req, res) => {
    const account = req.params.account as string;
    const [diagnosis, described] = await Promise.all([
      deps.sender.diagnose(account),
      credentials.describe(account),
    ]);
    layout(res, 200, {
      title: "Diagnostics",
      session: sessionOf(res),
      account,
      section: "diagnostics",
      body: html`<p>${diagnosis.ok ? "Everything essential works." : "Something needs attention: see the advice below."} Checked ${formatTime(diagnosis.at)}.</p>
${diagnosisTable(diagnosis)}
<h2>Unsubscribe</h2>
<p>Mode: <strong>${described?.unsubscribeMode ?? "mandrill"}</strong> (change it in <a href="/accounts/${account}/settings">Email settings</a>). ${
        described?.unsubscribeMode === "one-click"
          ? "Every message gets List-Unsubscribe and List-Unsubscribe-Post headers (RFC 8058) and a footer link served by this app."
          : "One-click mode adds List-Unsubscribe headers served by this app."
      }</p>`,
    });
  });

  // ------------------------------------------------------------------ demo send (a host route)
  router.get("/accounts/:account/send", (req, res) => {
    const account = req.params.account as string;
    const s = sessionOf(res);
    const pending = s.result as PageResult | undefined;
    let last: Extract<PageResult, { kind: "send" }> | undefined;
    if (pending?.kind === "send" && pending.account === account) {
      last = pending;
      s.result = undefined;
    }
    layout(res, 200, {
      title: "Send",
      session: s,
      account,
      section: "send",
      body: html`<p>A host route, as your app would have one: this form posts to <code>POST /accounts/${account}/send</code>, whose handler calls <code>req.mandrill.send("${account}", message)</code>. Suppressed recipients never reach Mandrill.</p>
<form method="post" action="/accounts/${account}/send" class="card">
${csrfField(s)}
<p><label for="send-to">To (one or more addresses, comma-separated)</label> <input id="send-to" name="to" required size="50" value="${last?.to ?? ""}"></p>
<p><label for="send-subject">Subject</label> <input id="send-subject" name="subject" required value="Hello from mandrill-kit"></p>
<p><label for="send-text">Text</label> <textarea id="send-text" name="text" rows="4" cols="60">This message was sent through the kit's sender.</textarea></p>
<p><button type="submit">Send</button></p>
</form>
${
  last === undefined
    ? ""
    : html`<div class="result" role="status" id="send-result">${last.error === null ? "" : html`<p class="flash flash-error">${last.error}</p>`}
<table><caption>Result (${last.value.transport.toUpperCase()})</caption><thead><tr><th scope="col">Recipient</th><th scope="col">Status</th><th scope="col">Reason</th></tr></thead>
<tbody>${recipientsView(last.value).map((r) => html`<tr><th scope="row">${r.email}</th><td>${statusBadge(r.status)}</td><td>${r.reason ?? ""}</td></tr>`)}</tbody></table></div>`
}`,
    });
  });

  router.post("/accounts/:account/send", async (req, res) => {
    const account = req.params.account as string;
    const s = sessionOf(res);
    const toText = typeof req.body.to === "string" ? req.body.to : "";
    const to = parseRecipients(toText);
    const subject =
      typeof req.body.subject === "string" && req.body.subject.trim() !== ""
        ? req.body.subject.trim()
        : "Hello";
    const text = typeof req.body.text === "string" ? req.body.text : "";
    if (to.length === 0 || req.mandrill === undefined) {
      flash(res, "error", "Name at least one recipient.");
      return redirect(res, `/accounts/${account}/send`);
    }
    try {
      const value = await req.mandrill.send(account, { to, subject, text: text || subject });
      s.result = { kind: "send", account, to: toText, value, error: null } satisfies PageResult;
    } catch (error) {
      if (error instanceof MandrillKitSendError) {
        s.result = {
          kind: "send",
          account,
          to: toText,
          value: error.result,
          error: error.message,
        } satisfies PageResult;
      } else {
        const fields = fieldsOf(error);
        flash(
          res,
          "error",
          fields.length > 0 ? fields.map((f) => `${f.field} ${f.message}`).join("; ") : errorText(error),
        );
      }
    }
    redirect(res, `/accounts/${account}/send`);
  });

  router.use(function pageErrors(error: unknown, _req: Request, res: Response, next: NextFunction) {
    if (res.headersSent) return next(error);
    const status = (error as { status?: unknown }).status;
    if (typeof status === "number" && status >= 400 && status < 500) {
      res
        .status(status)
        .type("text/plain")
        .send((error as Error).message);
      return;
    }
    deps.log.error({ error }, "page failed");
    res.status(500).type("text/plain").send("Something went wrong; the server log has the details.");
  });
  return router;
}
