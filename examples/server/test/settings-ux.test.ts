import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csrfOf, logIn, logInWithCsrf, startTestApp, type TestApp } from "./helpers.js";

const SAVED_KEY = "md-ux-saved-key-0000-AAAA";
const TYPED_KEY = "md-ux-typed-key-1111-BBBB";

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ rateLimits: { authFailures: { limit: 100, windowMs: 60_000 } } });
});
afterAll(async () => {
  await t?.close();
});

const loggedIn = () => logInWithCsrf(t.url);

type Agent = Awaited<ReturnType<typeof loggedIn>>["agent"];

const form = (csrf: string, extra: Record<string, string> = {}) => ({
  _csrf: csrf,
  transport: "api",
  host: "smtp.mandrillapp.com",
  port: "587",
  username: "ops@ux.example",
  fromEmail: "saved@ux.example",
  fromName: "Saved",
  unsubscribeMode: "mandrill",
  ...extra,
});

async function saveAccount(agent: Agent, csrf: string, account: string, extra: Record<string, string> = {}) {
  const res = await agent
    .post(`/accounts/${account}/settings`)
    .type("form")
    .send(form(csrf, { apiKey: SAVED_KEY, ...extra }));
  expect(res.status).toBe(303);
}

describe("test what is in the form, without saving", () => {
  it("sends the test email with the typed From and API key, keeps the edits, saves nothing, echoes no secret", async () => {
    const { agent, csrf } = await loggedIn();
    await saveAccount(agent, csrf, "ux-test");
    const res = await agent
      .post("/accounts/ux-test/test-email")
      .type("form")
      .send(form(csrf, { fromEmail: "typed@ux.example", apiKey: TYPED_KEY, to: "me@ux.example" }));
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/accounts/ux-test/settings#test-email-result");
    const sent = t.sim.inspect.lastMessage();
    expect(sent?.from.email).toBe("typed@ux.example");
    expect(sent?.key).toBe("••••BBBB"); // the typed key, not the saved one
    // Nothing saved.
    expect((await t.example.kit.credentials.describe("ux-test"))?.fromEmail).toBe("saved@ux.example");
    expect((await t.example.kit.credentials.describe("ux-test"))?.apiKey).toBe("••••AAAA");
    const page = await agent.get("/accounts/ux-test/settings");
    expect(page.text).toContain('value="typed@ux.example"');
    expect(page.text).toContain('value="me@ux.example"');
    expect(page.text).toMatch(/id="test-email-result"[^>]*data-autofocus/);
    expect(page.text).toContain("Success");
    expect(page.text).not.toContain(TYPED_KEY);
    expect(page.text).toContain("The key you typed is kept for this form");
    // The result shows once: a reload shows the saved settings again.
    const reload = await agent.get("/accounts/ux-test/settings");
    expect(reload.text).not.toContain('id="test-email-result"');
    expect(reload.text).toContain('value="saved@ux.example"');

    // Saving the kept form stores the typed key without it being typed again.
    const nonce = /name="secretsNonce" value="([^"]+)"/.exec(page.text)?.[1];
    expect(nonce).toBeDefined();
    const save = await agent
      .post("/accounts/ux-test/settings")
      .type("form")
      .send(form(csrf, { fromEmail: "typed@ux.example", secretsNonce: nonce as string }));
    expect(save.status).toBe(303);
    expect((await t.example.kit.credentials.describe("ux-test"))?.apiKey).toBe("••••BBBB");
  });

  it("shows a rate-limited test inside the test-email box and drops the older result", async () => {
    const limited = await startTestApp({
      rateLimits: { testEmail: { limit: 1, windowMs: 3_600_000 } },
    });
    try {
      const { agent, response } = await logIn(limited.url);
      expect(response.status).toBe(303);
      const csrf = csrfOf((await agent.get("/accounts")).text);
      await agent
        .post("/accounts/rl/settings")
        .type("form")
        .send(form(csrf, { apiKey: SAVED_KEY }));
      await agent
        .post("/accounts/rl/test-email")
        .type("form")
        .send(form(csrf, { to: "me@ux.example" }));
      await agent.get("/accounts/rl/settings");
      const res = await agent
        .post("/accounts/rl/test-email")
        .type("form")
        .send(form(csrf, { to: "me@ux.example", fromName: "Edited" }));
      expect(res.status).toBe(303);
      const page = await agent.get("/accounts/rl/settings");
      const box = /<section[^>]*id="test-email">([\s\S]*?)<\/section>/.exec(page.text)?.[1] ?? "";
      expect(box).toContain("No test email was sent");
      expect(box).toContain("Too many test emails");
      expect(box).not.toContain("Last check");
      expect(page.text).toContain('value="Edited"');
    } finally {
      await limited.close();
    }
  });

  it("tests the connection without sending mail, and reports a refused key", async () => {
    const { agent, csrf } = await loggedIn();
    await saveAccount(agent, csrf, "ux-conn", { transport: "smtp" });
    const before = t.sim.inspect.outbox().length;
    await agent
      .post("/accounts/ux-conn/test-connection")
      .type("form")
      .send(form(csrf, { transport: "smtp" }));
    let page = await agent.get("/accounts/ux-conn/settings");
    expect(page.text).toMatch(/id="connection-result"[^>]*data-autofocus/);
    expect(page.text).toContain('badge-pass">pass</span> <strong>API key valid and active');
    expect(page.text).toContain('badge-pass">pass</span> <strong>SMTP reachable');
    expect(page.text).toContain("No email was sent");
    await agent
      .post("/accounts/ux-conn/test-connection")
      .type("form")
      .send(form(csrf, { apiKey: "invalid-typed-key-9999" }));
    page = await agent.get("/accounts/ux-conn/settings");
    expect(page.text).toContain("Connection problem");
    expect(page.text).toContain("refused the API key");
    expect(page.text).not.toContain("invalid-typed-key-9999");
    expect(t.sim.inspect.outbox().length).toBe(before);
    expect((await t.example.kit.credentials.describe("ux-conn"))?.apiKey).toBe("••••AAAA");
  });

  it("refuses the test forms without the CSRF token", async () => {
    const { agent } = await loggedIn();
    for (const path of ["test-email", "test-connection"]) {
      const res = await agent
        .post(`/accounts/ux-test/${path}`)
        .type("form")
        .send(form("forged", { to: "me@ux.example" }));
      expect(res.status).toBe(403);
    }
  });
});

describe("keeping typed input", () => {
  it("says a refused secret must be typed again and keeps the other fields", async () => {
    const { agent, csrf } = await loggedIn();
    const res = await agent
      .post("/accounts/ux-new/settings")
      .type("form")
      .send(form(csrf, { apiKey: "has spaces in it", fromName: "Kept Name", fromEmail: "nope" }));
    expect(res.status).toBe(422);
    expect(res.text).toContain("Type the API key again");
    expect(res.text).toContain('value="Kept Name"');
    expect(res.text).toContain('value="nope"');
    expect(res.text).not.toContain("has spaces in it");
    // The summary names fields by their labels and links to them; focus goes there.
    expect(res.text).toMatch(/id="error-summary"[^>]*data-autofocus/);
    expect(res.text).toContain('<a href="#fromEmail">From address</a>');
  });

  it("keeps To, Subject and Text on the Send page when nothing could be sent", async () => {
    const { agent, csrf } = await loggedIn();
    const res = await agent
      .post("/accounts/ux-test/send")
      .type("form")
      .send({ _csrf: csrf, to: " , ", subject: "Kept subject", text: "Kept text" });
    expect(res.status).toBe(422);
    expect(res.text).toContain('value="Kept subject"');
    expect(res.text).toContain("Kept text</textarea>");
    expect(res.text).toContain('id="to-error"');
  });

  it("refuses a suppression Until in the past with a field error and keeps the form", async () => {
    const { agent, csrf } = await loggedIn();
    const res = await agent.post("/accounts/ux-test/suppressions").type("form").send({
      _csrf: csrf,
      email: "past@ux.example",
      reason: "custom",
      detail: "kept",
      expiresAt: "2020-01-01",
    });
    expect(res.status).toBe(422);
    expect(res.text).toContain('id="expiresAt-error"');
    expect(res.text).toContain("must be a date in the future");
    expect(res.text).toContain('value="past@ux.example"');
    expect(await t.example.store.suppressions.check("ux-test", ["past@ux.example"])).toEqual([]);
  });

  it("keeps the CSV text after a refused import", async () => {
    const { agent, csrf } = await loggedIn();
    const csv = "email,reason\nbroken,spam\n";
    const res = await agent
      .post("/accounts/ux-test/suppressions/import")
      .type("form")
      .send({ _csrf: csrf, csv });
    expect(res.status).toBe(422);
    expect(res.text).toContain("broken,spam");
    expect(res.text).toContain("Nothing was imported");
    expect(res.text).toContain('<a href="#csv">line 2</a>');
  });
});

describe("key status, Callback URL and pages", () => {
  it("checks the key on save: warns about a refused key but saves", async () => {
    const { agent, csrf } = await loggedIn();
    await agent
      .post("/accounts/ux-bad/settings")
      .type("form")
      .send(form(csrf, { apiKey: "invalid-key-0000" }));
    const page = await agent.get("/accounts/ux-bad/settings");
    expect(page.text).toContain("Saved.");
    expect(page.text).toContain("Mandrill refused the API key");
    expect((await t.example.kit.credentials.describe("ux-bad"))?.hasApiKey).toBe(true);
  });

  it("shows the Callback URL before the first save, with a copy button", async () => {
    const { agent } = await loggedIn();
    const page = await agent.get("/accounts/ux-unsaved/settings");
    expect(page.text).toContain(`<code id="callback-url-short">${t.url}/webhooks/mandrill/ux-unsaved</code>`);
    expect(page.text).toContain('data-copy="callback-url-short"');
    expect(page.text).toContain('aria-live="polite"');
    // 127.0.0.1 cannot be reached by the real Mandrill: said on Settings and Webhooks.
    expect(page.text).toContain('id="public-url-warning"');
    expect((await agent.get("/accounts/ux-unsaved/webhooks")).text).toContain('id="public-url-warning"');
  });

  it("sends a signed test webhook to the Callback URL", async () => {
    const { agent, csrf } = await loggedIn();
    await saveAccount(agent, csrf, "ux-hook", { webhookKey: "whk-ux-test-0000" });
    const res = await agent.post("/accounts/ux-hook/webhooks/test").type("form").send({ _csrf: csrf });
    expect(res.status).toBe(303);
    const page = await agent.get("/accounts/ux-hook/webhooks");
    expect(page.text).toContain("Test webhook received");
    expect(page.text).not.toContain("whk-ux-test-0000");
  });

  it("hides the SMTP fields for the HTTP API transport", async () => {
    const { agent, csrf } = await loggedIn();
    await saveAccount(agent, csrf, "ux-api");
    const page = await agent.get("/accounts/ux-api/settings");
    expect(page.text).toMatch(/<div data-transport="smtp" hidden>[\s\S]*id="host"/);
  });

  it("answers unknown pages with the app's 404 page", async () => {
    const { agent } = await loggedIn();
    const res = await agent.get("/nope");
    expect(res.status).toBe(404);
    expect(res.headers["content-type"]).toMatch(/html/);
    expect(res.text).toContain("<h1>Page not found</h1>");
    expect(res.text).toContain('href="/static/app.css"');
    expect(res.text).not.toContain("Cannot GET");
  });
});

describe("account status and deletion", () => {
  it("shows key OK / refused / not checked and the last webhook on the Accounts list and Settings", async () => {
    const { agent, csrf } = await loggedIn();
    await saveAccount(agent, csrf, "ux-status-ok");
    await agent
      .post("/accounts/ux-status-bad/settings")
      .type("form")
      .send(form(csrf, { apiKey: "invalid-status-key" }));
    const list = await agent.get("/accounts");
    const row = (account: string) =>
      new RegExp(`<tr><th scope="row"><a href="/accounts/${account}/settings"[\\s\\S]*?</tr>`).exec(
        list.text,
      )?.[0] ?? "";
    expect(row("ux-status-ok")).toContain("key OK");
    expect(row("ux-status-bad")).toContain("refused");
    expect(row("ux-status-ok")).toContain("no key");
    const settings = await agent.get("/accounts/ux-status-bad/settings");
    expect(settings.text).toMatch(/id="account-status">API key: <span class="badge badge-fail"[^>]*>refused/);
    expect(settings.text).toContain("Last webhook received: none yet");
  });

  it("deletes an account with its secrets only after a confirmation", async () => {
    const { agent, csrf } = await loggedIn();
    await saveAccount(agent, csrf, "ux-delete", { webhookKey: "whk-delete-me-0000" });
    const first = await agent.post("/accounts/ux-delete/delete").type("form").send({ _csrf: csrf });
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe("/accounts/ux-delete/settings?delete=confirm#delete");
    expect(await t.example.kit.credentials.describe("ux-delete")).toBeDefined();
    const confirmPage = await agent.get(first.headers.location as string);
    expect(confirmPage.text).toContain("Yes, delete ux-delete");
    const forged = await agent
      .post("/accounts/ux-delete/delete")
      .type("form")
      .send({ _csrf: "forged", confirm: "yes" });
    expect(forged.status).toBe(403);
    const confirmed = await agent
      .post("/accounts/ux-delete/delete")
      .type("form")
      .send({ _csrf: csrf, confirm: "yes" });
    expect(confirmed.headers.location).toBe("/accounts");
    expect(await t.example.kit.credentials.describe("ux-delete")).toBeUndefined();
    expect(await t.example.store.credentials.get("ux-delete")).toBeUndefined();
    expect((await agent.get("/accounts")).text).toContain("Deleted ux-delete and its secrets.");
  });

  it("removes an old webhook key from the settings form", async () => {
    const { agent, csrf } = await loggedIn();
    await saveAccount(agent, csrf, "ux-keys", { webhookKey: "whk-old-key-0001" });
    await agent
      .post("/accounts/ux-keys/settings")
      .type("form")
      .send(form(csrf, { webhookKey: "whk-new-key-0002" }));
    const page = await agent.get("/accounts/ux-keys/settings");
    const id = /name="removeWebhookKeys" value="([^"]+)"/.exec(page.text)?.[1];
    expect(id).toBeDefined();
    await agent
      .post("/accounts/ux-keys/settings")
      .type("form")
      .send(form(csrf, { removeWebhookKeys: id as string }));
    const keys = (await t.example.kit.credentials.describe("ux-keys"))?.webhookKeys ?? [];
    expect(keys.map((k) => k.masked)).toEqual(["••••0002"]);
  });
});
