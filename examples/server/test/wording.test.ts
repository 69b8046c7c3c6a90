import { ERROR_CODES } from "@mandrill-kit/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoSimulatorOptions } from "../src/demo-simulator.js";
import { ADMIN_TOKEN, demoSettingsForm, logInWithCsrf, startTestApp, type TestApp } from "./helpers.js";

/**
 * Item 4 of issue 16: one plain sentence per problem, the field's label, one next step. No backticks,
 * no camelCase identifiers, no "1 events" or "line(s)" in what the admin reads.
 */
const DEVELOPER_WORDS: ReadonlyArray<[string, RegExp]> = [
  ["a backtick", /`/],
  ["a camelCase identifier", /\b[a-z]+[A-Z][A-Za-z]*\b/],
  ['"(s)"', /\(s\)/],
  ['"1 <plural>"', /\b1 [a-z]*[^s\W]s\b/],
];

/** What in `text` reads like code, or a count in the wrong number. */
function developerWords(text: string): string[] {
  return DEVELOPER_WORDS.filter(([, re]) => re.test(text)).map(([what]) => `${what} in: ${text}`);
}

/** Network advice: wrong for a refused login. */
const NETWORK_ADVICE = /network|firewall|\bISP\b|2525|blocked|can reach Mandrill/i;

/**
 * The codes whose errors only a developer meets (thrown at start-up, or to the host's own code and
 * log): their advice may name options and functions. Every other code's advice can reach the admin
 * (a test email's hint, a page, the JSON API).
 */
const DEVELOPER_ONLY = new Set([
  "ERR_MK_CONFIG_INVALID",
  "ERR_MK_CONFIG_UNKNOWN_OPTION",
  "ERR_MK_CONFIG_KEYS",
  "ERR_MK_CONFIG_AUTH_REQUIRED",
  "ERR_MK_KIT_NOT_MOUNTED",
  "ERR_MK_WEBHOOK_BODY_REFUSED",
  "ERR_MK_WEBHOOK_NOT_STORED",
  "ERR_MK_WEBHOOK_HANDLER_TIMEOUT",
  "ERR_MK_WEBHOOK_HANDLER_FAILED",
  "ERR_MK_SETTINGS_BODY_CONSUMED",
  "ERR_MK_TESTING_TIMEOUT",
  "ERR_MK_STORE_CLOSED",
]);

/** The visible text of a fragment of HTML: tags dropped, `<code>` examples and inputs left out. */
function textOf(html: string): string {
  return html
    .replace(/<code>[\s\S]*?<\/code>/g, "")
    .replace(/<(input|textarea|select)\b[\s\S]*?(<\/\1>|>)/g, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&#39;/g, "'")
    .replace(/&#34;|&quot;/g, '"')
    .replace(/&#38;|&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

const mainOf = (page: string) => /<main[\s\S]*<\/main>/.exec(page)?.[0] ?? "";
const boxOf = (page: string, id: string) =>
  new RegExp(`<div[^>]*id="${id}"[\\s\\S]*?</div>\\s*(?=</section>|<form|<h2|$)`).exec(page)?.[0] ?? "";

describe("the error table's advice is plain wherever it can reach the admin", () => {
  it("has no backticks, camelCase identifiers or (s) in the advice of any code but the developer-only ones", () => {
    for (const code of DEVELOPER_ONLY) expect(Object.keys(ERROR_CODES)).toContain(code);
    const found = Object.entries(ERROR_CODES)
      .filter(([code]) => !DEVELOPER_ONLY.has(code))
      .flatMap(([code, { advice }]) => developerWords(advice).map((w) => `${code}: ${w}`));
    expect(found).toEqual([]);
  });
});

describe("a refused SMTP login (535) from the simulator's SMTP server", () => {
  let t: TestApp;
  const WRONG_KEY = "invalid-smtp-key-0000-5350";

  beforeAll(async () => {
    t = await startTestApp({
      simulator: demoSimulatorOptions(),
      rateLimits: { authFailures: { limit: 100, windowMs: 60_000 } },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const form = (csrf: string, extra: Record<string, string> = {}) => demoSettingsForm(csrf, WRONG_KEY, extra);

  it("Test connection says the SMTP login was refused and to save an active key, with no network advice", async () => {
    const { agent, csrf } = await logInWithCsrf(t.url);
    await agent.post("/accounts/smtp-535/test-connection").type("form").send(form(csrf));
    const box = textOf(boxOf((await agent.get("/accounts/smtp-535/settings")).text, "connection-result"));
    expect(box).toContain("SMTP server refused the login");
    expect(box).toMatch(/(535)/);
    const smtpRow = box.slice(box.indexOf("SMTP reachable"));
    expect(smtpRow).toMatch(/save an active key/i);
    expect(box).not.toMatch(NETWORK_ADVICE);
    expect(developerWords(box)).toEqual([]);
    expect(box).not.toContain(WRONG_KEY);
  });

  it("Send a test email says so inside the test-email box, with no network advice", async () => {
    const { agent, csrf } = await logInWithCsrf(t.url);
    await agent
      .post("/accounts/smtp-535-test/test-email")
      .type("form")
      .send(form(csrf, { to: "me@acme.example" }));
    const page = (await agent.get("/accounts/smtp-535-test/settings")).text;
    const box = textOf(/<section[^>]*id="test-email">([\s\S]*?)<\/section>/.exec(page)?.[1] ?? "");
    expect(box).toContain("It did not work: Mandrill's SMTP server refused the login");
    expect(box).toContain("the API key used as the SMTP password is wrong");
    expect(box).not.toMatch(NETWORK_ADVICE);
    expect(developerWords(box)).toEqual([]);
    expect(t.sim.inspect.outbox().filter((m) => m.key?.endsWith("5350"))).toEqual([]);
  });

  it("the JSON API's test email and the Send page give the API key step, not the network's", async () => {
    const { agent, csrf } = await logInWithCsrf(t.url);
    const save = await agent.post("/accounts/smtp-535-saved/settings").type("form").send(form(csrf));
    expect(save.status).toBe(303);
    await agent.get("/accounts/smtp-535-saved/settings"); // shows the "Saved." message
    const api = await agent
      .post("/api/accounts/smtp-535-saved/test-email")
      .set("authorization", `Bearer ${ADMIN_TOKEN}`)
      .send({ to: "me@acme.example" });
    expect(api.status).toBe(200);
    expect(api.body.ok).toBe(false);
    expect(api.body.error.message).toContain("refused the login");
    expect(api.body.error.hint).toContain("into the API key field and save");
    expect(api.body.error.hint).not.toMatch(NETWORK_ADVICE);

    await agent
      .post("/accounts/smtp-535-saved/send")
      .type("form")
      .send({ _csrf: csrf, to: "someone@acme.example", subject: "Hi", text: "x" });
    const send = textOf(mainOf((await agent.get("/accounts/smtp-535-saved/send")).text));
    expect(send).toContain("refused the login");
    expect(send).toContain("into the API key field and save");
    expect(send).not.toMatch(NETWORK_ADVICE);
  });

  it("says Mandrill's hint for a refused key once: test email, Send and Sync pages", async () => {
    const { agent, csrf } = await logInWithCsrf(t.url);
    const account = "api-refused";
    const times = (text: string, what: string) => text.split(what).length - 1;
    const api = form(csrf, { transport: "api" });
    await agent
      .post(`/accounts/${account}/test-email`)
      .type("form")
      .send({ ...api, to: "me@acme.example" });
    const page = (await agent.get(`/accounts/${account}/settings`)).text;
    const box = textOf(/<section[^>]*id="test-email">([\s\S]*?)<\/section>/.exec(page)?.[1] ?? "");
    expect(box).toContain("It did not work: Mandrill answered Invalid_Key: Invalid API key.");
    expect(times(box, "save it again")).toBe(1); // the troubleshooting's advice, not the hint too
    await agent.post(`/accounts/${account}/settings`).type("form").send(api);
    await agent.get(`/accounts/${account}/settings`); // shows the "Saved." message
    await agent
      .post(`/accounts/${account}/send`)
      .type("form")
      .send({ _csrf: csrf, to: "someone@acme.example", subject: "Hi", text: "x" });
    const send = textOf(mainOf((await agent.get(`/accounts/${account}/send`)).text));
    expect(times(send, "save it again")).toBe(1);
    await agent.post(`/accounts/${account}/suppressions/sync`).type("form").send({ _csrf: csrf });
    const sync = textOf(mainOf((await agent.get(`/accounts/${account}/suppressions/sync`)).text));
    expect(sync).toContain("Could not sync with Mandrill");
    expect(times(sync, "save it again")).toBe(1);
  });

  it("no page in a failing state shows developer words (Settings, Diagnostics, Send, Suppressions)", async () => {
    const { agent, csrf } = await logInWithCsrf(t.url);
    const account = "smtp-535-pages";
    await agent.post(`/accounts/${account}/settings`).type("form").send(form(csrf));
    const found: string[] = [];
    const check = async (path: string) => {
      const text = textOf(mainOf((await agent.get(path)).text));
      expect(text.length).toBeGreaterThan(200);
      found.push(...developerWords(text).map((w) => `${path}: ${w}`));
    };
    await agent.post(`/accounts/${account}/test-connection`).type("form").send(form(csrf));
    await check(`/accounts/${account}/settings`);
    await agent
      .post(`/accounts/${account}/test-email`)
      .type("form")
      .send({ _csrf: csrf, to: "me@acme.example" });
    await check(`/accounts/${account}/settings`);
    await check(`/accounts/${account}/diagnostics`);
    await agent
      .post(`/accounts/${account}/send`)
      .type("form")
      .send({ _csrf: csrf, to: "a@acme.example, b@acme.example", subject: "Hi", text: "x" });
    await check(`/accounts/${account}/send`);
    const past = await agent
      .post(`/accounts/${account}/suppressions`)
      .type("form")
      .send({ _csrf: csrf, email: "old@acme.example", expiresAt: "2020-01-31" });
    found.push(...developerWords(textOf(mainOf(past.text))).map((w) => `suppress: ${w}`));
    const csv = await agent
      .post(`/accounts/${account}/suppressions/import`)
      .type("form")
      .send({ _csrf: csrf, csv: "email,reason\nnot-an-address,manual\n" });
    found.push(...developerWords(textOf(mainOf(csv.text))).map((w) => `import: ${w}`));
    await check(`/accounts/${account}/webhooks`);
    expect(found).toEqual([]);
  });
});
