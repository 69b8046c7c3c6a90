import { DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import nodemailer from "nodemailer";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "./helpers.js";

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ flushIntervalMs: 0, smtpsPort: 0 });
});

afterEach(() => {
  sim.control.clearFaults();
  sim.control.clearRecords();
});

afterAll(async () => {
  await sim.close();
});

/** nodemailer over STARTTLS (required), verifying the simulator's certificate with the CA it exposes. */
function transport(pass: string, extra: Record<string, unknown> = {}) {
  return nodemailer.createTransport({
    host: sim.smtp.host,
    port: sim.smtp.port ?? 0,
    secure: false,
    requireTLS: true,
    auth: { user: "any-username", pass },
    tls: { ca: sim.smtp.ca },
    connectionTimeout: 5000,
    greetingTimeout: 5000,
    socketTimeout: 5000,
    ...extra,
  });
}

describe("SMTP with nodemailer (docs/mandrill.md#smtp)", () => {
  it("sends over STARTTLS with AUTH (any username, API key as password), verifying the certificate", async () => {
    const t = transport(DEMO_KEYS.valid);
    const info = await t.sendMail({
      from: '"Shop" <receipts@example.com>',
      to: "Alice <alice@example.org>",
      cc: "bob@example.org",
      bcc: "audit@example.org",
      subject: "Your receipt",
      text: "Thanks",
      html: "<p>Thanks</p>",
      replyTo: "support@example.com",
    });
    expect(info.response).toMatch(/^250 2\.0\.0 OK: queued as out-\d+$/);
    const out = sim.inspect.lastMessage();
    expect(out).toMatchObject({
      transport: "smtp",
      from: { email: "receipts@example.com", name: "Shop" },
      subject: "Your receipt",
      text: "Thanks",
      html: "<p>Thanks</p>",
      headers: { "Reply-To": "support@example.com" },
    });
    expect(out?.recipients.map((r) => `${r.type}:${r.email}:${r.status}`)).toEqual([
      "to:alice@example.org:sent",
      "cc:bob@example.org:sent",
      "bcc:audit@example.org:sent",
    ]);
    expect(out?.smtp?.username).toBe("any-username");
    expect(sim.inspect.events({ type: "send" })).toHaveLength(3);
    t.close();
  });

  it("refuses a bad, a disabled and an IP-restricted key with 535 5.7.8", async () => {
    for (const key of ["not-a-key", DEMO_KEYS.disabled, DEMO_KEYS.ipRestricted]) {
      const t = transport(key);
      await expect(
        t.sendMail({ from: "a@example.com", to: "b@example.org", text: "x" }),
      ).rejects.toMatchObject({
        responseCode: 535,
        response: "535 5.7.8 Authentication failed",
      });
      t.close();
    }
    expect(sim.inspect.outbox()).toEqual([]);
  });

  it("does not let a client send without AUTH", async () => {
    const t = nodemailer.createTransport({
      host: sim.smtp.host,
      port: sim.smtp.port ?? 0,
      tls: { ca: sim.smtp.ca },
    });
    await expect(t.sendMail({ from: "a@example.com", to: "b@example.org", text: "x" })).rejects.toMatchObject(
      { responseCode: 530 },
    );
    t.close();
  });

  it("honours X-MC-* headers: tags, metadata, merge vars with _rcpt, subaccount, track, important, template", async () => {
    sim.control.addTemplate({
      name: "smtp-receipt",
      subject: "Receipt for *|FNAME|*",
      code: '<div mc:edit="main"></div><p>*|SHOP|*</p>',
    });
    const t = transport(DEMO_KEYS.valid);
    await t.sendMail({
      from: "receipts@example.com",
      to: ["alice@example.org", "bob@example.org"],
      html: "<p>Your order</p>",
      headers: {
        "X-MC-Tags": "receipt, smtp",
        "X-MC-Metadata": '{"order_id":"A1001"}',
        "X-MC-MergeVars": ['{"SHOP":"Example Shop"}', '{"_rcpt":"alice@example.org","FNAME":"Alice"}'],
        "X-MC-Subaccount": "customer-123",
        "X-MC-Track": "opens,clicks_htmlonly",
        "X-MC-Important": "yes",
        "X-MC-Template": "smtp-receipt|main",
        "X-MC-GlobalMergeVars": '{"IGNORED":"1"}',
      },
    });
    const out = sim.inspect.lastMessage();
    expect(out).toMatchObject({
      tags: ["receipt", "smtp"],
      metadata: { order_id: "A1001" },
      subaccount: "customer-123",
      template: { name: "smtp-receipt", content: [{ name: "main", content: "<p>Your order</p>" }] },
      message: { track_opens: true, track_clicks: true, important: true },
    });
    expect(out?.message.global_merge_vars).toEqual([{ name: "SHOP", content: "Example Shop" }]);
    expect(out?.message.merge_vars).toEqual([
      { rcpt: "alice@example.org", vars: [{ name: "FNAME", content: "Alice" }] },
    ]);
    expect(out?.recipients[0]).toMatchObject({
      subject: "Receipt for Alice",
      html: '<div mc:edit="main"><p>Your order</p></div><p>Example Shop</p>',
    });
    expect(out?.smtp?.mcHeaders["x-mc-mergevars"]).toHaveLength(2);
    expect(out?.smtp?.mcHeaders["x-mc-globalmergevars"]).toEqual(['{"IGNORED":"1"}']);
    expect(out?.headers).not.toHaveProperty("X-MC-Tags");
    const [send] = sim.inspect.events({ type: "send" });
    expect((send?.payload as { msg: Record<string, unknown> } | undefined)?.msg).toMatchObject({
      tags: ["receipt", "smtp"],
      subaccount: "customer-123",
      template: "smtp-receipt",
      metadata: { order_id: "A1001" },
    });
    t.close();
  });

  it("schedules with X-MC-SendAt and reports per-recipient outcomes only through events", async () => {
    const t = transport(DEMO_KEYS.valid);
    sim.control.addReject({ email: "blocked@example.org", reason: "spam" });
    const info = await t.sendMail({
      from: "receipts@example.com",
      to: ["blocked@example.org", "hard_bounce@test.mandrillapp.com"],
      text: "x",
    });
    // DATA is accepted whatever happens to each recipient (docs/mandrill.md#how-mandrill-handles-smtp-mail).
    expect(info.response).toMatch(/^250 /);
    expect(sim.inspect.events().map((e) => `${e.type}:${e.email}`)).toEqual([
      "blacklist:blocked@example.org",
      "reject:blocked@example.org",
      "send:hard_bounce@test.mandrillapp.com",
      "hard_bounce:hard_bounce@test.mandrillapp.com",
      "blacklist:hard_bounce@test.mandrillapp.com",
    ]);
    const inAWeek = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 19).replace("T", " ");
    await t.sendMail({
      from: "receipts@example.com",
      to: "later@example.org",
      text: "x",
      headers: { "X-MC-SendAt": inAWeek },
    });
    expect(sim.inspect.lastMessage()?.recipients[0]?.status).toBe("scheduled");
    sim.control.releaseScheduled();
    t.close();
  });

  it("accepts a message whose converted API call fails, and shows the error in the API log only", async () => {
    const t = transport(DEMO_KEYS.valid);
    const info = await t.sendMail({
      from: "a@example.com",
      to: "b@example.org",
      text: "x",
      headers: { "X-MC-Subaccount": "ghost" },
    });
    expect(info.response).toBe("250 2.0.0 OK: accepted");
    expect(sim.inspect.outbox()).toEqual([]);
    expect(sim.inspect.apiLog().at(-1)).toMatchObject({
      transport: "smtp",
      method: "messages/send",
      status: 500,
      response: { name: "Unknown_Subaccount" },
    });
    t.close();
  });

  it("speaks implicit TLS on the secure port", async () => {
    const t = transport(DEMO_KEYS.test, { port: sim.smtp.securePort, secure: true, requireTLS: false });
    await t.sendMail({ from: "a@example.com", to: "b@example.org", text: "over TLS" });
    expect(sim.inspect.lastMessage()).toMatchObject({ transport: "smtp", test: true, text: "over TLS" });
    t.close();
  });

  it("injects SMTP replies: 4xx at RCPT for one key, 5xx at DATA for the next message only", async () => {
    sim.control.fault({
      kind: "smtp-reply",
      stage: "rcpt",
      code: 451,
      message: "4.7.1 Try again later",
      key: DEMO_KEYS.test,
    });
    const testKey = transport(DEMO_KEYS.test);
    await expect(
      testKey.sendMail({ from: "a@example.com", to: "b@example.org", text: "x" }),
    ).rejects.toMatchObject({
      responseCode: 451,
    });
    const valid = transport(DEMO_KEYS.valid);
    await valid.sendMail({ from: "a@example.com", to: "b@example.org", text: "x" });
    sim.control.fault({ kind: "smtp-reply", stage: "data", code: 554, times: 1 });
    await expect(
      valid.sendMail({ from: "a@example.com", to: "b@example.org", text: "x" }),
    ).rejects.toMatchObject({
      responseCode: 554,
      response: "554 5.3.0 Message refused",
    });
    await valid.sendMail({ from: "a@example.com", to: "b@example.org", text: "x" });
    await eventually(() => sim.inspect.outbox().length === 2);
    testKey.close();
    valid.close();
  });
});
