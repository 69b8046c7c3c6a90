import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startTestApp, type TestApp, waitFor } from "./helpers.js";

const API_KEY = "md-example-api-key-ABCDEFGHIJKL-QRST";
const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

async function configure(account: string, extra: Record<string, unknown> = {}) {
  return request(t.url)
    .put(`/api/accounts/${account}/mandrill`)
    .set(auth)
    .send({
      transport: "smtp",
      host: "smtp.mandrillapp.com",
      port: 587,
      username: "ops@shop.example.com",
      apiKey: API_KEY,
      fromEmail: "hello@shop.example.com",
      fromName: "Shop",
      ...extra,
    });
}

describe("JSON API authentication", () => {
  it("responds 401 without the admin token", async () => {
    const res = await request(t.url).get("/api/accounts/acme/mandrill");
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("ERR_UNAUTHORIZED");
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
  });

  it("responds 401 with a wrong token", async () => {
    const res = await request(t.url).get("/api/accounts/acme/mandrill").set("Authorization", "Bearer nope");
    expect(res.status).toBe(401);
  });
});

describe("settings", () => {
  it("creates with PUT (201) and GET returns the fields with secrets masked plus the Callback URL", async () => {
    const put = await configure("acme", { webhookKey: "whk-secret-value-1234" });
    expect(put.status).toBe(201);
    const res = await request(t.url).get("/api/accounts/acme/mandrill").set(auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      transport: "smtp",
      host: "smtp.mandrillapp.com",
      port: 587,
      username: "ops@shop.example.com",
      apiKey: "••••QRST",
      fromEmail: "hello@shop.example.com",
      fromName: "Shop",
      webhookKey: "••••1234",
      callbackUrl: `${t.url}/webhooks/mandrill/acme`,
    });
    expect(res.text).not.toContain(API_KEY);
    expect(res.text).not.toContain("whk-secret-value-1234");
    expect(res.headers["cache-control"]).toBe("no-store");
  });

  it("updates with PUT (200) keeping the API key when it is left out", async () => {
    const res = await request(t.url)
      .put("/api/accounts/acme/mandrill")
      .set(auth)
      .send({ fromName: "Shop & Co" });
    expect(res.status).toBe(200);
    expect(res.body.apiKey).toBe("••••QRST");
    expect(res.body.fromName).toBe("Shop & Co");
  });

  it("answers 422 with every bad field", async () => {
    const res = await request(t.url)
      .put("/api/accounts/acme/mandrill")
      .set(auth)
      .send({ port: 70000, fromEmail: "not an address", transport: "fax" });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("ERR_MK_VALIDATION_FAILED");
    const fields = (res.body.error.fields as { field: string }[]).map((f) => f.field).sort();
    expect(fields).toEqual(["fromEmail", "port", "transport"]);
  });

  it("answers 404 for an account without settings and 400 for a bad account id", async () => {
    expect((await request(t.url).get("/api/accounts/nobody/mandrill").set(auth)).status).toBe(404);
    const bad = await request(t.url).get("/api/accounts/..%2Fx/mandrill").set(auth);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("ERR_MK_ACCOUNT_INVALID");
  });
});

describe("test email", () => {
  it("succeeds over SMTP routed to the simulator", async () => {
    await configure("smtp-co");
    const res = await request(t.url)
      .post("/api/accounts/smtp-co/test-email")
      .set(auth)
      .send({ to: "admin@shop.example.com" });
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(true);
    expect(res.body.transport).toBe("smtp");
    const sent = t.sim.inspect.outbox({ transport: "smtp" });
    expect(sent.some((m) => m.recipients.some((r) => r.email === "admin@shop.example.com"))).toBe(true);
  });

  it("explains Invalid_Key with the troubleshooting checks when the key is refused", async () => {
    await configure("bad-key", { transport: "api", apiKey: "invalid-key-0000000000" });
    const res = await request(t.url)
      .post("/api/accounts/bad-key/test-email")
      .set(auth)
      .send({ to: "admin@shop.example.com" });
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(false);
    expect(JSON.stringify(res.body.error)).toContain("Invalid_Key");
    const apiKeyCheck = (res.body.diagnosis.checks as { id: string; status: string; advice: string }[]).find(
      (c) => c.id === "api-key",
    );
    expect(apiKeyCheck?.status).toBe("fail");
    expect(apiKeyCheck?.advice).toMatch(/inactive|IP/);
  });

  it("answers 422 without a recipient", async () => {
    const res = await request(t.url).post("/api/accounts/smtp-co/test-email").set(auth).send({});
    expect(res.status).toBe(422);
    expect(res.body.error.fields[0].field).toBe("to");
  });
});

describe("send", () => {
  it("returns one status per recipient", async () => {
    await configure("api-co", { transport: "api" });
    const res = await request(t.url)
      .post("/api/accounts/api-co/send")
      .set(auth)
      .send({ to: ["ann@example.net", "reject@test.mandrillapp.com"], subject: "Hi", text: "Hello" });
    expect(res.status).toBe(200);
    expect(res.body.recipients).toEqual([
      { email: "ann@example.net", status: "sent", reason: null },
      { email: "reject@test.mandrillapp.com", status: "rejected", reason: "hard-bounce" },
    ]);
  });

  it("answers 422 with fields for a message without recipients or subject", async () => {
    const res = await request(t.url).post("/api/accounts/api-co/send").set(auth).send({ to: [] });
    expect(res.status).toBe(422);
    expect((res.body.error.fields as { field: string }[]).map((f) => f.field)).toEqual(["to", "subject"]);
  });

  it("answers 409 when the account has no settings", async () => {
    const res = await request(t.url)
      .post("/api/accounts/unset/send")
      .set(auth)
      .send({ to: "a@example.net", subject: "x" });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("ERR_MK_NOT_CONFIGURED");
  });
});

describe("suppressions", () => {
  it("adds, lists with filters, blocks sends to, and lifts an address", async () => {
    await configure("supp", { transport: "api" });
    const add = await request(t.url)
      .post("/api/accounts/supp/suppressions")
      .set(auth)
      .send({ email: "Bob@Example.net", reason: "spam", detail: "complained by phone" });
    expect(add.status).toBe(201);
    expect(add.body.item).toMatchObject({
      email: "bob@example.net",
      reason: "spam",
      source: "manual",
      expiresAt: null,
    });

    const list = await request(t.url).get("/api/accounts/supp/suppressions?reason=spam&search=bob").set(auth);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ email: "bob@example.net", reason: "spam", source: "manual" });
    expect(typeof list.body.items[0].createdAt).toBe("string");
    const none = await request(t.url).get("/api/accounts/supp/suppressions?reason=unsub").set(auth);
    expect(none.body.items).toEqual([]);

    const send = await request(t.url)
      .post("/api/accounts/supp/send")
      .set(auth)
      .send({ to: ["bob@example.net", "carol@example.net"], subject: "Hi" });
    expect(send.body.recipients).toEqual([
      { email: "bob@example.net", status: "suppressed", reason: "spam" },
      { email: "carol@example.net", status: "sent", reason: null },
    ]);

    const del = await request(t.url)
      .delete("/api/accounts/supp/suppressions/bob@example.net?reason=asked%20to%20be%20back")
      .set(auth);
    expect(del.status).toBe(204);
    expect((await request(t.url).get("/api/accounts/supp/suppressions").set(auth)).body.items).toEqual([]);
    const again = await request(t.url).delete("/api/accounts/supp/suppressions/bob@example.net").set(auth);
    expect(again.status).toBe(404);
  });

  it("refuses a bad address with 422", async () => {
    const res = await request(t.url)
      .post("/api/accounts/supp/suppressions")
      .set(auth)
      .send({ email: "nope", reason: "whatever" });
    expect(res.status).toBe(422);
    expect((res.body.error.fields as { field: string }[]).map((f) => f.field)).toEqual(["email", "reason"]);
  });

  it("exports CSV that imports back unchanged into another account", async () => {
    for (const [email, reason] of [
      ["x1@example.net", "hard-bounce"],
      ["=cmd@example.net", "unsub"],
    ] as const) {
      await request(t.url)
        .post("/api/accounts/csv-a/suppressions")
        .set(auth)
        .send({ email, reason, detail: 'said "stop", twice' });
    }
    const csv = await request(t.url).get("/api/accounts/csv-a/suppressions.csv").set(auth);
    expect(csv.status).toBe(200);
    expect(csv.headers["content-type"]).toMatch(/text\/csv/);
    expect(csv.text.split("\r\n")[0]).toBe("email,reason,source,detail,createdAt,expiresAt");
    expect(csv.text).toContain("'=cmd@example.net"); // no formula injection in spreadsheets

    const imported = await request(t.url)
      .post("/api/accounts/csv-b/suppressions.csv")
      .set(auth)
      .set("Content-Type", "text/csv")
      .send(csv.text);
    expect(imported.body).toEqual({ imported: 2 });
    const pick = (items: { email: string; reason: string; detail: string }[]) =>
      items.map(({ email, reason, detail }) => ({ email, reason, detail }));
    const a = await request(t.url).get("/api/accounts/csv-a/suppressions").set(auth);
    const b = await request(t.url).get("/api/accounts/csv-b/suppressions").set(auth);
    expect(pick(b.body.items)).toEqual(pick(a.body.items));
    expect(b.body.items[0].source).toBe("import");
  });

  it("imports nothing when a line is bad, naming the line", async () => {
    const res = await request(t.url)
      .post("/api/accounts/csv-c/suppressions.csv")
      .set(auth)
      .set("Content-Type", "text/csv")
      .send("email,reason\nok@example.net,spam\nbroken,spam\n");
    expect(res.status).toBe(422);
    expect(res.body.error.fields[0].field).toBe("line 3");
    expect((await request(t.url).get("/api/accounts/csv-c/suppressions").set(auth)).body.items).toEqual([]);
  });
});

describe("register-webhook and the suppression loop", () => {
  it("registers the Callback URL, stores Mandrill's key, and a hard bounce becomes a suppression", async () => {
    await configure("loop", { transport: "api" });
    const reg = await request(t.url).post("/api/accounts/loop/register-webhook").set(auth).send({});
    expect(reg.status).toBe(200);
    expect(reg.body).toMatchObject({
      callbackUrl: `${t.url}/webhooks/mandrill/loop`,
      created: true,
      keySaved: true,
      events: ["hard_bounce", "soft_bounce", "reject", "unsub", "spam"],
    });
    const hook = t.sim.inspect.webhooks().find((h) => h.url === `${t.url}/webhooks/mandrill/loop`);
    expect(hook).toBeDefined();
    const settings = await request(t.url).get("/api/accounts/loop/mandrill").set(auth);
    expect(settings.body.webhookKey).toBe(reg.body.webhookKey);
    expect(settings.body.webhookKey).toMatch(/^••••/);

    // Registering again updates the same webhook and keeps the key.
    const again = await request(t.url).post("/api/accounts/loop/register-webhook").set(auth).send({});
    expect(again.body).toMatchObject({ created: false, keySaved: false, webhookId: reg.body.webhookId });

    const send = await request(t.url)
      .post("/api/accounts/loop/send")
      .set(auth)
      .send({ to: "hard_bounce@test.mandrillapp.com", subject: "Bounce me" });
    expect(send.body.recipients[0].status).toBe("sent");

    const suppressed = await waitFor(async () => {
      const res = await request(t.url).get("/api/accounts/loop/suppressions").set(auth);
      return (res.body.items as { email: string; reason: string; source: string }[]).find(
        (i) => i.email === "hard_bounce@test.mandrillapp.com",
      );
    });
    expect(suppressed).toMatchObject({ reason: "hard-bounce", source: "webhook" });

    const events = await request(t.url).get("/api/accounts/loop/events?type=hard_bounce").set(auth);
    expect(events.body.items[0]).toMatchObject({
      type: "hard_bounce",
      email: "hard_bounce@test.mandrillapp.com",
    });
    expect(events.body.stats.byType.hard_bounce).toBe(1);

    const next = await request(t.url)
      .post("/api/accounts/loop/send")
      .set(auth)
      .send({ to: "hard_bounce@test.mandrillapp.com", subject: "Again" });
    expect(next.body.recipients).toEqual([
      { email: "hard_bounce@test.mandrillapp.com", status: "suppressed", reason: "hard-bounce" },
    ]);
  });

  it("answers 502 with Mandrill's reason when the API key is refused", async () => {
    await configure("loop-bad", { transport: "api", apiKey: "invalid-0000000000000" });
    const res = await request(t.url).post("/api/accounts/loop-bad/register-webhook").set(auth).send({});
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("ERR_MK_MANDRILL_API");
  });
});

describe("diagnostics", () => {
  it("runs the sender's named checks", async () => {
    const res = await request(t.url).get("/api/accounts/acme/diagnostics").set(auth);
    expect(res.status).toBe(200);
    const ids = (res.body.checks as { id: string }[]).map((c) => c.id);
    expect(ids).toContain("api-key");
  });
});

describe("rate limit", () => {
  it("answers 429 with Retry-After once the test-email bucket is empty", async () => {
    const limited = await startTestApp({ rateLimits: { testEmail: { limit: 1, windowMs: 3_600_000 } } });
    try {
      const first = await request(limited.url)
        .post("/api/accounts/x/test-email")
        .set(auth)
        .send({ to: "a@example.net" });
      expect(first.status).not.toBe(429);
      const second = await request(limited.url)
        .post("/api/accounts/x/test-email")
        .set(auth)
        .send({ to: "a@example.net" });
      expect(second.status).toBe(429);
      expect(Number(second.headers["retry-after"])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});
