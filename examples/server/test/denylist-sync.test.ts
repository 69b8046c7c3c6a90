import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "./helpers.js";

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const BOUNCE = "hard_bounce@test.mandrillapp.com";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

async function configure(account: string, apiKey: string) {
  const res = await request(t.url).put(`/api/accounts/${account}/mandrill`).set(auth).send({
    transport: "api",
    username: "ops@shop.example.com",
    apiKey,
    fromEmail: "hello@shop.example.com",
    fromName: "Shop",
  });
  expect(res.status).toBeLessThan(300);
}

describe("Sync with Mandrill", () => {
  it("puts the first hard bounce, sent before registering the Callback URL, on the list once registered", async () => {
    await configure("early", "md-early-account-key-ABCDEFGHIJKL");
    const send = await request(t.url)
      .post("/api/accounts/early/send")
      .set(auth)
      .send({ to: BOUNCE, subject: "Hi" });
    expect(send.body.recipients[0].status).toBe("sent");
    const before = await request(t.url).get("/api/accounts/early/suppressions").set(auth);
    expect(before.body.items).toEqual([]);

    const reg = await request(t.url).post("/api/accounts/early/register-webhook").set(auth).send({});
    expect(reg.status).toBe(200);
    expect(reg.body.denylistSync).toContain("1 imported");
    const after = await request(t.url).get("/api/accounts/early/suppressions").set(auth);
    expect(after.body.items).toMatchObject([
      { email: BOUNCE, reason: "hard-bounce", source: "mandrill-sync" },
    ]);
  });

  it("answers POST …/suppressions/sync with the report, and lists the drift by side", async () => {
    await configure("drifty", "md-drifty-account-key-ABCDEFGHIJKL");
    await request(t.url)
      .post("/api/accounts/drifty/suppressions")
      .set(auth)
      .send({ email: "mine@example.net", reason: "custom", detail: "asked" });
    const sync = await request(t.url).post("/api/accounts/drifty/suppressions/sync").set(auth).send({});
    expect(sync.status).toBe(200);
    expect(sync.body).toMatchObject({
      account: "drifty",
      imported: 0,
      updated: 0,
      onlyLocal: 1,
      onlyMandrill: 0,
      expiredSkipped: 0,
      durationMs: expect.any(Number),
    });
    const drift = await request(t.url).get("/api/accounts/drifty/suppressions/drift?side=local").set(auth);
    expect(drift.body.items.map((d: { email: string }) => d.email)).toEqual(["mine@example.net"]);
    expect(drift.body.lastSync).toMatchObject({ counts: { onlyLocal: 1 } });
    const other = await request(t.url).get("/api/accounts/drifty/suppressions/drift?side=mandrill").set(auth);
    expect(other.body.items).toEqual([]);
  });
});
