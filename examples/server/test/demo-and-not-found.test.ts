import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_SENDING_DOMAINS, demoSimulatorOptions } from "../src/demo-simulator.js";
import { demoSettingsForm, logInWithCsrf, startTestApp, type TestApp } from "./helpers.js";

let t: TestApp;

beforeAll(async () => {
  // The simulator as `pnpm start` runs it.
  t = await startTestApp({ simulator: demoSimulatorOptions() });
});
afterAll(async () => {
  await t?.close();
});

const form = (csrf: string, extra: Record<string, string> = {}) =>
  demoSettingsForm(csrf, "md-demo-key-0000-WXYZ", extra);

/** The Test connection box after testing `extra` on the settings form of `account`. */
async function testConnection(account: string, extra: Record<string, string>): Promise<string> {
  const { agent, csrf } = await logInWithCsrf(t.url);
  const res = await agent.post(`/accounts/${account}/test-connection`).type("form").send(form(csrf, extra));
  expect(res.status).toBe(303);
  const page = await agent.get(`/accounts/${account}/settings`);
  return /<div[^>]*id="connection-result"[\s\S]*?<\/div>/.exec(page.text)?.[0] ?? "";
}

describe("the demo simulator (pnpm start) has the example's sending domains verified", () => {
  it("passes Test connection for the README's From domain, over SMTP and the HTTP API", async () => {
    expect(DEMO_SENDING_DOMAINS).toContain("acme.example");
    for (const transport of ["smtp", "api"]) {
      const box = await testConnection(`demo-${transport}`, { transport });
      expect(box).toContain("Connection works");
      expect(box).toContain('badge-pass">pass</span> <strong>Sending domain verified');
      expect(box).toContain("acme.example is verified with valid DKIM and SPF");
      expect(box).not.toContain("badge-fail");
    }
  });

  it("still reports a From domain that is not among the sending domains, and Mandrill rejects its mail", async () => {
    const box = await testConnection("demo-other", { fromEmail: "hello@unlisted.example" });
    expect(box).toContain("Connection problem");
    expect(box).toContain('badge-fail">fail</span> <strong>Sending domain verified');
    expect(box).toContain("unlisted.example is not among the account");
    const { agent, csrf } = await logInWithCsrf(t.url);
    await agent
      .post("/accounts/demo-other/settings")
      .type("form")
      .send(form(csrf, { transport: "api", fromEmail: "hello@unlisted.example" }));
    await expect(
      t.example.sender.send("demo-other", { to: "me@acme.example", subject: "Hi", text: "x" }),
    ).rejects.toMatchObject({ code: "ERR_MK_SEND_REJECTED", message: expect.stringContaining("unsigned") });
  });

  it("names the verified domains under the From address", async () => {
    const { agent } = await logInWithCsrf(t.url);
    const page = await agent.get("/accounts/demo-help/settings");
    expect(page.text).toContain("in the simulator, acme.example and example.com.");
  });
});

describe("unknown routes answer the app's 404 page, logged in or not (item 12)", () => {
  it("shows the styled 404 page to a visitor without a session instead of sending them to log in", async () => {
    for (const path of ["/nope", "/accounts/acme/nope", "/static-nope/x"]) {
      const res = await request(t.url).get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.headers["content-type"]).toMatch(/html/);
      expect(res.text).toContain("<h1>Page not found</h1>");
      expect(res.text).toContain('href="/static/app.css"');
      expect(res.text).not.toContain("Log out");
      expect(res.headers["set-cookie"]).toBeUndefined();
    }
    expect((await request(t.url).post("/nope").type("form").send({ a: "b" })).status).toBe(404);
  });

  it("still sends a visitor without a session from every real page to the login page, and refuses its forms", async () => {
    for (const path of [
      "/",
      "/accounts",
      "/accounts/acme",
      "/accounts/acme/settings",
      "/accounts/acme/webhooks",
      "/accounts/acme/suppressions",
      "/accounts/acme/suppressions/sync",
      "/accounts/acme/suppressions.csv",
      "/accounts/acme/diagnostics",
      "/accounts/acme/send",
    ]) {
      const res = await request(t.url).get(path);
      expect({ path, status: res.status, location: res.headers.location }).toEqual({
        path,
        status: 303,
        location: "/login",
      });
    }
    for (const path of [
      "/accounts",
      "/accounts/acme/settings",
      "/accounts/acme/test-email",
      "/accounts/acme/test-connection",
      "/accounts/acme/delete",
      "/accounts/acme/webhooks/register",
      "/accounts/acme/webhooks/test",
      "/accounts/acme/suppressions",
      "/accounts/acme/suppressions/lift",
      "/accounts/acme/suppressions/import",
      "/accounts/acme/suppressions/sync",
      "/accounts/acme/send",
    ]) {
      const res = await request(t.url).post(path).type("form").send({ to: "x@acme.example" });
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
    }
  });

  it("renders the 404 page in the app's frame, with the navigation, when logged in", async () => {
    const { agent } = await logInWithCsrf(t.url);
    for (const path of ["/nope", "/accounts/acme/nope"]) {
      const res = await agent.get(path);
      expect(res.status).toBe(404);
      expect(res.text).toContain("<h1>Page not found</h1>");
      expect(res.text).toContain("Log out");
    }
  });
});
