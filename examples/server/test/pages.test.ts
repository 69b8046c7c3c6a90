import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, csrfOf, logInWithCsrf, startTestApp, type TestApp, waitFor } from "./helpers.js";

const API_KEY = "md-page-secret-key-0000-WXYZ";
const WEBHOOK_KEY = "whk-page-secret-9876";

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ rateLimits: { authFailures: { limit: 100, windowMs: 60_000 } } });
});
afterAll(async () => {
  await t?.close();
});

/** A logged-in browser-like agent (cookie jar) and its CSRF token. */
const loggedIn = () => logInWithCsrf(t.url);

describe("login", () => {
  it("redirects to the login page without a session", async () => {
    const res = await request(t.url).get("/accounts/acme/settings");
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/login");
  });

  it("sets an HttpOnly SameSite=Strict session cookie after the right token", async () => {
    const agent = request.agent(t.url);
    const page = await agent.get("/login");
    expect(page.text).toContain('<label for="token">Admin token</label>');
    const res = await agent
      .post("/login")
      .type("form")
      .send({ token: ADMIN_TOKEN, _csrf: csrfOf(page.text) });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/accounts");
    const cookie = ([] as string[]).concat(res.headers["set-cookie"] ?? []).join("\n");
    expect(cookie).toMatch(/mk_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
    expect((await agent.get("/accounts")).status).toBe(200);
  });

  it("refuses a wrong token with 401 and keeps the pages closed", async () => {
    const agent = request.agent(t.url);
    const page = await agent.get("/login");
    const res = await agent
      .post("/login")
      .type("form")
      .send({ token: "wrong", _csrf: csrfOf(page.text) });
    expect(res.status).toBe(401);
    expect(res.text).toContain("That is not the admin token.");
    expect((await agent.get("/accounts")).status).toBe(303);
  });

  it("refuses a login POST without the CSRF token", async () => {
    const agent = request.agent(t.url);
    await agent.get("/login");
    const res = await agent.post("/login").type("form").send({ token: ADMIN_TOKEN });
    expect(res.status).toBe(403);
  });
});

describe("pages", () => {
  it("refuses a form POST without the session's CSRF token", async () => {
    const { agent } = await loggedIn();
    const res = await agent
      .post("/accounts/acme/settings")
      .type("form")
      .send({ apiKey: API_KEY, fromEmail: "a@example.com", _csrf: "forged" });
    expect(res.status).toBe(403);
    expect((await agent.get("/accounts/acme/settings")).text).not.toContain("Saved:");
  });

  it("saves the Mandrill form and shows the key masked, never the secret", async () => {
    const { agent, csrf } = await loggedIn();
    const form = await agent.get("/accounts/acme/settings");
    expect(form.text).toContain('value="smtp.mandrillapp.com"');
    expect(form.text).toContain('value="587"');
    expect(form.text).toContain('id="simulator-banner"');
    const res = await agent.post("/accounts/acme/settings").type("form").send({
      _csrf: csrf,
      transport: "smtp",
      host: "smtp.mandrillapp.com",
      port: "587",
      username: "ops@acme.example",
      apiKey: API_KEY,
      fromEmail: "hello@acme.example",
      fromName: "Acme <Shop>",
      webhookKey: WEBHOOK_KEY,
      unsubscribeMode: "mandrill",
    });
    expect(res.status).toBe(303);
    const page = await agent.get("/accounts/acme/settings");
    expect(page.text).toContain("Saved.");
    expect(page.text).toContain("••••WXYZ");
    expect(page.text).toContain("••••9876");
    expect(page.text).not.toContain(API_KEY);
    expect(page.text).not.toContain(WEBHOOK_KEY);
    expect(page.text).toContain("Acme &#60;Shop&#62;");
    expect(page.text).not.toContain("Acme <Shop>");
    expect((await agent.get("/accounts")).text).toContain('href="/accounts/acme/settings"');
  });

  it("re-renders the form with 422 and the field errors, without echoing secrets", async () => {
    const { agent, csrf } = await loggedIn();
    const res = await agent
      .post("/accounts/bad/settings")
      .type("form")
      .send({ _csrf: csrf, port: "99999", apiKey: "md-never-echo-this-000", fromEmail: "nope" });
    expect(res.status).toBe(422);
    expect(res.text).toContain('id="port-error"');
    expect(res.text).toContain('aria-invalid="true"');
    expect(res.text).not.toContain("md-never-echo-this-000");
  });

  it("sends a test email from the settings page and shows the result", async () => {
    const { agent, csrf } = await loggedIn();
    const res = await agent
      .post("/accounts/acme/test-email")
      .type("form")
      .send({ _csrf: csrf, to: "me@acme.example" });
    expect(res.status).toBe(303);
    const page = await agent.get("/accounts/acme/settings");
    expect(page.text).toContain('id="test-email-result"');
    expect(page.text).toContain("Success");
  });

  it("shows the Callback URL and registers it with the (simulated) Mandrill", async () => {
    const { agent, csrf } = await loggedIn();
    const page = await agent.get("/accounts/acme/webhooks");
    expect(page.text).toContain(`value="${t.url}/webhooks/mandrill/acme"`);
    expect(page.text).toContain('data-copy="callback-url" hidden');
    const res = await agent
      .post("/accounts/acme/webhooks/register")
      .type("form")
      .send(`_csrf=${encodeURIComponent(csrf)}&events=hard_bounce&events=spam`);
    expect(res.status).toBe(303);
    const after = await agent.get("/accounts/acme/webhooks");
    expect(after.text).toContain("Registered the Callback URL with Mandrill");
    expect(t.sim.inspect.webhooks().find((h) => h.url === `${t.url}/webhooks/mandrill/acme`)?.events).toEqual(
      ["hard_bounce", "spam"],
    );
  });

  it("sends through the demo host route, then the bounced address appears on the Suppressions page", async () => {
    const { agent, csrf } = await loggedIn();
    await agent
      .post("/accounts/acme/send")
      .type("form")
      .send({ _csrf: csrf, to: "hard_bounce@test.mandrillapp.com", subject: "Hi", text: "Hello" });
    const result = await agent.get("/accounts/acme/send");
    expect(result.text).toContain('id="send-result"');
    expect(result.text).toContain("badge-sent");
    await waitFor(async () => {
      const page = await agent.get("/accounts/acme/suppressions");
      return page.text.includes("hard_bounce@test.mandrillapp.com") ? true : undefined;
    });
    const webhooksPage = await agent.get("/accounts/acme/webhooks");
    expect(webhooksPage.text).toMatch(/<th scope="row">hard_bounce<\/th><td>1<\/td>/);
  });

  it("adds, lifts, exports and imports suppressions through forms", async () => {
    const { agent, csrf } = await loggedIn();
    await agent
      .post("/accounts/acme/suppressions")
      .type("form")
      .send({ _csrf: csrf, email: "dave@example.net", reason: "custom", detail: "<b>note</b>" });
    let page = await agent.get("/accounts/acme/suppressions?search=dave");
    expect(page.text).toContain("dave@example.net");
    expect(page.text).toContain("&#60;b&#62;note&#60;/b&#62;");
    const csv = await agent.get("/accounts/acme/suppressions.csv");
    expect(csv.text).toContain("dave@example.net,custom,manual");
    await agent
      .post("/accounts/acme/suppressions/lift")
      .type("form")
      .send({ _csrf: csrf, email: "dave@example.net", reason: "typo" });
    page = await agent.get("/accounts/acme/suppressions?search=dave");
    expect(page.text).toContain("No suppressions match.");
    await agent
      .post("/accounts/acme/suppressions/import")
      .type("form")
      .send({ _csrf: csrf, csv: "email,reason\nerin@example.net,unsub\n" });
    page = await agent.get("/accounts/acme/suppressions?reason=unsub");
    expect(page.text).toContain("Imported 1 address.");
    expect(page.text).toContain("erin@example.net");
  });

  it("renders diagnostics with the sender's checks", async () => {
    const { agent } = await loggedIn();
    const page = await agent.get("/accounts/acme/diagnostics");
    expect(page.status).toBe(200);
    expect(page.text).toContain("badge-pass");
  });

  it("serves a strict Content-Security-Policy and the script as a file", async () => {
    const res = await request(t.url).get("/login");
    const csp = res.headers["content-security-policy"] as string;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(res.text).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/);
    const js = await request(t.url).get("/static/app.js");
    expect(js.status).toBe(200);
    expect(js.headers["content-type"]).toMatch(/javascript/);
  });
});

describe("login rate limit", () => {
  it("answers 429 after too many attempts from one address, even with the right token", async () => {
    const limited = await startTestApp({ rateLimits: { authFailures: { limit: 3, windowMs: 3_600_000 } } });
    try {
      const agent = request.agent(limited.url);
      const csrf = csrfOf((await agent.get("/login")).text);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        statuses.push((await agent.post("/login").type("form").send({ token: "wrong", _csrf: csrf })).status);
      }
      const last = await agent.post("/login").type("form").send({ token: ADMIN_TOKEN, _csrf: csrf });
      expect(statuses).toEqual([401, 401, 401]);
      expect(last.status).toBe(429);
      expect(last.text).toContain("Too many attempts");
    } finally {
      await limited.close();
    }
  });
});
