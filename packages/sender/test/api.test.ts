import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createMemoryStore,
  MandrillKitApiError,
  MandrillKitSendError,
  MandrillKitTransportError,
  MandrillKitValidationError,
  type Store,
} from "@mandrill-kit/core";
import type { MandrillKitMiddleware } from "@mandrill-kit/credentials";
import { type ApiClientOptions, createSender, type Sender, type SendMessage } from "@mandrill-kit/sender";
import { DEMO_KEYS, MAGIC_ADDRESSES, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { type MandrillWebhooks, mandrillWebhooks } from "@mandrill-kit/webhooks";
import express from "express";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mandrillTime } from "../src/message.js";
import {
  apiCalls,
  closedPort,
  deepFreeze,
  eventually,
  FAST_API,
  LOCAL_NETWORK,
  newKit,
  outboxRecipients,
  PUBLIC_URL,
  sendsOf,
  uniqueEmail,
} from "./helpers.js";

const ACME = "acme";

let sim: Simulator;
let store: Store;
let kit: MandrillKitMiddleware;
let sender: Sender;
let webhooks: MandrillWebhooks;
let app: Server;
const extraSenders: Sender[] = [];

/** A sender for the same kit with other API options (closed in afterAll). */
function senderWith(api: ApiClientOptions): Sender {
  const s = createSender({ context: kit.context, api, network: LOCAL_NETWORK });
  extraSenders.push(s);
  return s;
}

beforeAll(async () => {
  store = createMemoryStore();
  kit = newKit(store);
  // The host app that receives the simulator's webhooks at the kit's Callback URL.
  webhooks = mandrillWebhooks();
  const host = express();
  host.use(kit);
  host.use(webhooks);
  app = host.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => app.once("listening", () => resolve()));
  const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  sim = await startSimulator({
    flushIntervalMs: 0,
    webhookTarget: (url) => url.replace(PUBLIC_URL, appUrl),
  });
  await kit.credentials.save(ACME, {
    transport: "api",
    username: "demo@example.com",
    apiKey: DEMO_KEYS.valid,
    fromEmail: "hello@example.com",
    fromName: "Acme",
  });
  sender = createSender({
    context: kit.context,
    api: { baseUrl: sim.apiUrl, ...FAST_API },
    network: LOCAL_NETWORK,
  });
});

afterEach(() => {
  sim.control.clearFaults();
  sim.control.clearRecords();
});

afterAll(async () => {
  await sender?.close();
  for (const s of extraSenders) await s.close();
  await webhooks?.close();
  await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
  await sim?.close();
  await store?.close();
});

/** Runs `fn`, which must reject with a `MandrillKitSendError`, and returns that error. */
async function sendError(promise: Promise<unknown>): Promise<MandrillKitSendError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MandrillKitSendError);
  return error as MandrillKitSendError;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected the promise to reject");
    },
    (e: unknown) => e,
  );
}

describe("per-recipient results over the API", () => {
  it("answers sent with Mandrill's _id for every recipient and records each in the store's sends", async () => {
    const alice = uniqueEmail("alice");
    const bob = uniqueEmail("bob");
    const audit = uniqueEmail("audit");
    const result = await sender.send(ACME, {
      to: [{ email: alice, name: "Alice" }],
      cc: bob,
      bcc: [audit],
      subject: "Your receipt",
      html: "<p>Thanks</p>",
    });

    expect(result.account).toBe(ACME);
    expect(result.transport).toBe("api");
    expect(result.recipients.map((r) => [r.email, r.status])).toEqual([
      [alice, "sent"],
      [bob, "sent"],
      [audit, "sent"],
    ]);
    const out = sim.inspect.outbox();
    expect(out).toHaveLength(1);
    expect(out[0]?.recipients.map((r) => `${r.type}:${r.email}`)).toEqual([
      `to:${alice}`,
      `cc:${bob}`,
      `bcc:${audit}`,
    ]);
    for (const r of result.recipients) {
      expect(r.messageId).toMatch(/^[0-9a-f]{32}$/);
      expect(out[0]?.recipients.find((o) => o.email === r.email)?._id).toBe(r.messageId);
      await sender.flush();
      const recorded = await store.sends.findByMessageId(r.messageId as string);
      expect(recorded).toMatchObject({
        account: ACME,
        email: r.email,
        status: "sent",
        transport: "api",
        correlationId: result.correlationId,
        subject: "Your receipt",
      });
    }
  });

  it("answers queued for every recipient of an async send", async () => {
    const to = [uniqueEmail("q1"), uniqueEmail("q2")];
    const result = await sender.send(ACME, { to, subject: "Later", text: "x", async: true });
    expect(result.recipients.map((r) => r.status)).toEqual(["queued", "queued"]);
    expect(result.recipients.every((r) => typeof r.messageId === "string")).toBe(true);
    expect(sim.inspect.lastMessage()?.async).toBe(true);
  });

  it("answers queued with queuedReason multiple-recipients for more than 10 recipients", async () => {
    const to = Array.from({ length: 11 }, (_, i) => uniqueEmail(`many${i}`));
    const result = await sender.send(ACME, { to, subject: "Newsletter", text: "x" });
    expect(result.recipients).toHaveLength(11);
    for (const r of result.recipients) {
      expect(r.status).toBe("queued");
      expect(r.queuedReason).toBe("multiple-recipients");
    }
  });

  it("answers scheduled when sendAt is in the future, and Mandrill gets send_at in UTC", async () => {
    const sendAt = new Date(Date.now() + 2 * 24 * 60 * 60 * 1000);
    const result = await sender.send(ACME, { to: uniqueEmail("sched"), subject: "Soon", text: "x", sendAt });
    expect(result.recipients[0]?.status).toBe("scheduled");
    expect(sim.inspect.lastMessage()?.send_at).toBe(mandrillTime(sendAt));
  });

  it("refuses a recipient that is not an email address before anything is sent", async () => {
    const error = await rejection(
      sender.send(ACME, { to: ["alice@example.org", "not an address"], text: "x" }),
    );
    expect(error).toBeInstanceOf(MandrillKitValidationError);
    expect(error).toMatchObject({ code: "ERR_MK_VALIDATION_FAILED" });
    expect(apiCalls(sim, "messages/send")).toHaveLength(0);
  });

  it("reports Mandrill's invalid status as a recipient-side problem and suppresses the address", async () => {
    // The simulator shares the kit's address check, so no address the kit accepts comes back
    // `invalid` from it; a one-route stand-in answers like Mandrill does (docs/mandrill.md#send-response).
    const odd = uniqueEmail("odd");
    const good = uniqueEmail("good");
    const stub = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify([
            { email: odd, status: "invalid" },
            { email: good, status: "sent", reject_reason: null, _id: "a".repeat(32) },
          ]),
        );
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
    try {
      const s = senderWith({
        baseUrl: `http://127.0.0.1:${(stub.address() as AddressInfo).port}/api/1.0/`,
        ...FAST_API,
      });
      const result = await s.send(ACME, { to: [odd, good], text: "x" });
      expect(result.recipients[0]).toMatchObject({
        email: odd,
        status: "invalid",
        messageId: null,
        rejectSide: "recipient",
      });
      expect(result.recipients[1]).toMatchObject({ email: good, status: "sent" });
      expect(await store.suppressions.get(ACME, odd)).toMatchObject({
        reason: "invalid",
        source: "send-result",
      });
      expect(await store.suppressions.get(ACME, good)).toBeUndefined();
    } finally {
      await new Promise<void>((resolve) => stub.close(() => resolve()));
    }
  });

  it("gives Mandrill every message field, the account's defaults and the correlation id", async () => {
    const alice = uniqueEmail("alice");
    const bob = uniqueEmail("bob");
    const result = await sender.send(ACME, {
      to: [alice, bob],
      subject: "Order *|ORDER|*",
      html: '<p>Hi *|FNAME|*</p><img src="cid:logo">',
      text: "Hi *|FNAME|*",
      replyTo: "support@example.com",
      headers: { "X-Campaign": "spring" },
      tags: ["receipt"],
      metadata: { order_id: "A1001" },
      recipientMetadata: { [alice]: { user_id: 42 } },
      mergeVars: { ORDER: "A1001" },
      recipientMergeVars: { [alice]: { FNAME: "Alice" }, [bob]: { FNAME: "Bob" } },
      attachments: [{ name: "receipt.txt", type: "text/plain", content: Buffer.from("Thank you!") }],
      images: [{ name: "logo", type: "image/png", content: "iVBORw0KGgo=" }],
      trackOpens: true,
      trackClicks: false,
      important: true,
      subaccount: "customer-123",
    });
    const out = sim.inspect.lastMessage();
    expect(out?.from).toEqual({ email: "hello@example.com", name: "Acme" });
    expect(out?.headers).toMatchObject({ "Reply-To": "support@example.com", "X-Campaign": "spring" });
    expect(out?.tags).toEqual(["receipt"]);
    expect(out?.metadata).toEqual({ order_id: "A1001", mk_correlation_id: result.correlationId });
    expect(out?.subaccount).toBe("customer-123");
    expect(out?.message).toMatchObject({
      track_opens: true,
      track_clicks: false,
      important: true,
      recipient_metadata: [{ rcpt: alice, values: { user_id: 42 } }],
      attachments: [
        { name: "receipt.txt", type: "text/plain", content: Buffer.from("Thank you!").toString("base64") },
      ],
      images: [{ name: "logo", type: "image/png", content: "iVBORw0KGgo=" }],
    });
    const rendered = Object.fromEntries(out?.recipients.map((r) => [r.email, r]) ?? []);
    expect(rendered[alice]?.subject).toBe("Order A1001");
    expect(rendered[alice]?.text).toBe("Hi Alice");
    expect(rendered[bob]?.text).toBe("Hi Bob");
  });
});

describe("suppressions", () => {
  it("never gives Mandrill a suppressed recipient and answers suppressed with the reason", async () => {
    const bounced = uniqueEmail("bounced");
    const fine = uniqueEmail("fine");
    await store.suppressions.add({ account: ACME, email: bounced, reason: "hard-bounce", source: "manual" });

    const result = await sender.send(ACME, { to: [bounced.toUpperCase(), fine], subject: "Hi", text: "x" });

    expect(result.recipients[0]).toMatchObject({
      email: bounced.toUpperCase(),
      status: "suppressed",
      rejectReason: "hard-bounce",
      messageId: null,
    });
    expect(result.recipients[1]).toMatchObject({ email: fine, status: "sent" });
    expect(outboxRecipients(sim)).toEqual([fine]);
    expect((await sendsOf(sender, store, ACME, bounced)).map((s) => s.status)).toEqual(["suppressed"]);
  });

  it("returns a result (no error, nothing sent) when every recipient is suppressed", async () => {
    const gone = uniqueEmail("gone");
    await store.suppressions.add({ account: ACME, email: gone, reason: "unsub", source: "manual" });
    const result = await sender.send(ACME, { to: gone, subject: "Hi", text: "x" });
    expect(result.recipients).toEqual([
      expect.objectContaining({ status: "suppressed", rejectReason: "unsub" }),
    ]);
    expect(apiCalls(sim, "messages/send")).toHaveLength(0);
    expect(sim.inspect.outbox()).toHaveLength(0);
  });

  it("suppresses a recipient for the second send when the suppression is added between two sends", async () => {
    const carol = uniqueEmail("carol");
    const first = await sender.send(ACME, { to: carol, subject: "One", text: "x" });
    expect(first.recipients[0]?.status).toBe("sent");

    await store.suppressions.add({ account: ACME, email: carol, reason: "spam", source: "manual" });
    const second = await sender.send(ACME, { to: carol, subject: "Two", text: "x" });

    expect(second.recipients[0]).toMatchObject({ status: "suppressed", rejectReason: "spam" });
    expect(sim.inspect.outbox().map((m) => m.subject)).toEqual(["One"]);
  });

  it("suppresses a recipient for the second send when a signed bounce webhook arrives in between", async () => {
    const dave = uniqueEmail("dave");
    const hook = await sender.api.call<{ id: number; auth_key: string }>("webhooks/add", DEMO_KEYS.valid, {
      url: kit.credentials.callbackUrl(ACME),
      events: ["hard_bounce"],
    });
    try {
      await kit.credentials.save(ACME, { webhookKey: hook.auth_key });
      const first = await sender.send(ACME, { to: dave, subject: "One", text: "x" });
      expect(first.recipients[0]?.status).toBe("sent");

      // Mandrill learns of the bounce and posts a signed webhook to the account's Callback URL.
      sim.control.emit(first.recipients[0]?.messageId as string, "hard_bounce");
      await sim.control.flushWebhooks();
      expect(sim.inspect.deliveries({ webhookId: hook.id, kind: "batch" }).map((d) => d.status)).toContain(
        200,
      );
      await eventually(async () => (await store.suppressions.get(ACME, dave)) !== undefined);
      expect(await store.suppressions.get(ACME, dave)).toMatchObject({
        reason: "hard-bounce",
        source: "webhook",
      });

      const before = apiCalls(sim, "messages/send").length;
      const second = await sender.send(ACME, { to: dave, subject: "Two", text: "x" });
      expect(second.recipients[0]).toMatchObject({ status: "suppressed", rejectReason: "hard-bounce" });
      expect(apiCalls(sim, "messages/send")).toHaveLength(before);
    } finally {
      await sender.api.call("webhooks/delete", DEMO_KEYS.valid, { id: hook.id });
    }
  });

  it("adds a recipient Mandrill rejects from its denylist to the suppression list (source send-result)", async () => {
    const listed = uniqueEmail("listed");
    const fine = uniqueEmail("fine");
    sim.control.addReject({ email: listed, reason: "hard-bounce" });

    const result = await sender.send(ACME, { to: [listed, fine], subject: "Hi", text: "x" });

    expect(result.recipients[0]).toMatchObject({
      email: listed,
      status: "rejected",
      rejectReason: "hard-bounce",
      rejectSide: "recipient",
    });
    expect(result.recipients[1]).toMatchObject({ email: fine, status: "sent" });
    expect(await store.suppressions.get(ACME, listed)).toMatchObject({
      reason: "hard-bounce",
      source: "send-result",
    });
    expect(await store.suppressions.get(ACME, fine)).toBeUndefined();

    sim.control.clearRecords();
    const again = await sender.send(ACME, { to: [listed, fine], subject: "Again", text: "x" });
    expect(again.recipients[0]).toMatchObject({ status: "suppressed", rejectReason: "hard-bounce" });
    expect(outboxRecipients(sim)).toEqual([fine]);
  });

  it("suppresses Mandrill's hard_bounce test address once Mandrill rejects it after its bounce", async () => {
    const first = await sender.send(ACME, { to: MAGIC_ADDRESSES.hardBounce, subject: "One", text: "x" });
    expect(first.recipients[0]?.status).toBe("sent");
    expect(sim.inspect.events({ type: "hard_bounce" })).toHaveLength(1);

    const error = await sendError(
      sender.send(ACME, { to: MAGIC_ADDRESSES.hardBounce, subject: "Two", text: "x" }),
    );
    expect(error.result.recipients[0]).toMatchObject({ status: "rejected", rejectReason: "hard-bounce" });
    expect(await store.suppressions.get(ACME, MAGIC_ADDRESSES.hardBounce)).toMatchObject({
      reason: "hard-bounce",
      source: "send-result",
    });

    const third = await sender.send(ACME, { to: MAGIC_ADDRESSES.hardBounce, subject: "Three", text: "x" });
    expect(third.recipients[0]?.status).toBe("suppressed");
    expect(sim.inspect.outbox().map((m) => m.subject)).toEqual(["One", "Two"]);
  });

  it("suppresses for spam after a complaint made Mandrill denylist the address", async () => {
    const erin = uniqueEmail("erin");
    const first = await sender.send(ACME, { to: erin, subject: "One", text: "x" });
    sim.control.emit(first.recipients[0]?.messageId as string, "spam");

    const error = await sendError(sender.send(ACME, { to: erin, subject: "Two", text: "x" }));
    expect(error.result.recipients[0]).toMatchObject({ rejectReason: "spam", rejectSide: "recipient" });
    expect(await store.suppressions.get(ACME, erin)).toMatchObject({ reason: "spam", source: "send-result" });
  });

  it("suppresses a recipient on the account's manual denylist (custom) with reason custom, for ever", async () => {
    const manual = uniqueEmail("manual");
    const fine = uniqueEmail("fine");
    sim.control.addReject({ email: manual, detail: "asked" });
    const result = await sender.send(ACME, { to: [manual, fine], subject: "Hi", text: "x" });
    expect(result.recipients[0]).toMatchObject({
      status: "rejected",
      rejectReason: "custom",
      rejectSide: "recipient",
    });
    expect(await store.suppressions.get(ACME, manual)).toMatchObject({
      reason: "custom",
      source: "send-result",
      expiresAt: null,
    });
    expect(await store.suppressions.get(ACME, fine)).toBeUndefined();
  });

  it("reports unsigned (From on an unverified domain) as a sender-side reject and suppresses nobody", async () => {
    const frank = uniqueEmail("frank");
    const grace = uniqueEmail("grace");
    const error = await sendError(
      sender.send(ACME, {
        to: [frank, grace],
        from: { email: "news@unverified.example" },
        subject: "Hi",
        text: "x",
      }),
    );
    expect(error.code).toBe("ERR_MK_SEND_REJECTED");
    expect(error.message).toContain("unsigned");
    expect(error.result.recipients).toEqual([
      expect.objectContaining({
        email: frank,
        status: "rejected",
        rejectReason: "unsigned",
        rejectSide: "sender",
      }),
      expect.objectContaining({
        email: grace,
        status: "rejected",
        rejectReason: "unsigned",
        rejectSide: "sender",
      }),
    ]);
    expect(await store.suppressions.check(ACME, [frank, grace])).toEqual([]);
    expect((await sendsOf(sender, store, ACME, frank)).map((s) => [s.status, s.rejectReason])).toEqual([
      ["rejected", "unsigned"],
    ]);
  });

  it("throws MandrillKitSendError (with the result) only when Mandrill rejected every recipient", async () => {
    const error = await sendError(
      sender.send(ACME, { to: MAGIC_ADDRESSES.reject, subject: "Hi", text: "x" }),
    );
    expect(error.result.account).toBe(ACME);
    expect(error.result.recipients[0]).toMatchObject({ status: "rejected", rejectSide: "recipient" });

    // A suppressed recipient next to a rejected one: still every recipient *given to Mandrill* was rejected.
    const gone = uniqueEmail("gone");
    await store.suppressions.add({ account: ACME, email: gone, reason: "unsub", source: "manual" });
    const listed = uniqueEmail("listed");
    sim.control.addReject({ email: listed, reason: "hard-bounce" });
    const mixed = await sendError(sender.send(ACME, { to: [gone, listed], text: "x" }));
    expect(mixed.result.recipients.map((r) => r.status)).toEqual(["suppressed", "rejected"]);

    const listedToo = uniqueEmail("listed");
    sim.control.addReject({ email: listedToo, reason: "hard-bounce" });
    const partial = await sender.send(ACME, { to: [listedToo, uniqueEmail("ok")], text: "x" });
    expect(partial.recipients.map((r) => r.status)).toEqual(["rejected", "sent"]);
  });
});

describe("templates", () => {
  it("sends a stored template with global and per-recipient merge vars through messages/send-template", async () => {
    sim.control.addTemplate({
      name: "Order shipped",
      subject: "Order *|ORDER|* shipped",
      code: '<p>Hi *|FNAME|*</p><div mc:edit="main">placeholder</div>',
      text: "Hi *|FNAME|*, order *|ORDER|* is on its way.",
    });
    const alice = uniqueEmail("alice");
    const bob = uniqueEmail("bob");
    const result = await sender.send(ACME, {
      to: [alice, bob],
      template: { name: "order-shipped", content: { main: "<p>On its way</p>" } },
      mergeVars: { ORDER: "A1001" },
      recipientMergeVars: { [alice]: { FNAME: "Alice" }, [bob]: { FNAME: "Bob" } },
    });
    expect(result.recipients.map((r) => r.status)).toEqual(["sent", "sent"]);
    expect(apiCalls(sim, "messages/send-template")).toHaveLength(1);
    const out = sim.inspect.lastMessage();
    expect(out?.template).toEqual({
      name: "order-shipped",
      content: [{ name: "main", content: "<p>On its way</p>" }],
    });
    const rendered = Object.fromEntries(out?.recipients.map((r) => [r.email, r]) ?? []);
    expect(rendered[alice]?.subject).toBe("Order A1001 shipped");
    expect(rendered[alice]?.html).toBe('<p>Hi Alice</p><div mc:edit="main"><p>On its way</p></div>');
    expect(rendered[bob]?.text).toBe("Hi Bob, order A1001 is on its way.");
  });

  it("turns an unknown template into MandrillKitApiError Unknown_Template, not retried", async () => {
    const error = await rejection(
      sender.send(ACME, { to: uniqueEmail("t"), template: { name: "no-such-template" } }),
    );
    expect(error).toBeInstanceOf(MandrillKitApiError);
    expect(error).toMatchObject({ mandrillName: "Unknown_Template", retryable: false });
    expect((error as MandrillKitApiError).hint).toMatch(/template/i);
    expect(apiCalls(sim, "messages/send-template")).toHaveLength(1);
  });
});

describe("the caller's message", () => {
  it.each([
    ["a value with CR/LF (header injection)", { "X-Campaign": "spring\r\nBcc: victim@example.org" }],
    ["a value with a bare LF", { "X-Campaign": "spring\nBcc: victim@example.org" }],
    ["a name with CR/LF", { "X-Campaign\r\nBcc": "victim@example.org" }],
    ["a name with a colon", { "Bcc: victim@example.org\r\nX": "y" }],
  ])("refuses headers with %s before anything is sent (ERR_MK_VALIDATION_FAILED)", async (_what, headers) => {
    const error = await rejection(sender.send(ACME, { to: uniqueEmail("h"), text: "x", headers }));
    expect(error).toBeInstanceOf(MandrillKitValidationError);
    expect(error).toMatchObject({ code: "ERR_MK_VALIDATION_FAILED" });
    expect((error as MandrillKitValidationError).fields[0]?.field).toMatch(/^headers\[/);
    expect(apiCalls(sim, "messages/send")).toHaveLength(0);
  });

  it("is never mutated (deep-frozen message, every field)", async () => {
    const alice = uniqueEmail("alice");
    const gone = uniqueEmail("gone");
    await store.suppressions.add({ account: ACME, email: gone, reason: "unsub", source: "manual" });
    const message: SendMessage = {
      to: [{ email: alice, name: "Alice" }, gone],
      cc: [uniqueEmail("cc")],
      bcc: uniqueEmail("bcc"),
      subject: "Frozen",
      html: "<p>Hi *|FNAME|*</p>",
      text: "Hi *|FNAME|*",
      from: { name: "Acme Support" },
      replyTo: "support@example.com",
      headers: { "X-Campaign": "spring" },
      tags: ["frozen"],
      metadata: { order_id: "A1" },
      recipientMetadata: { [alice]: { user_id: 1 }, [gone]: { user_id: 2 } },
      mergeVars: { SHOP: "Acme" },
      recipientMergeVars: { [alice]: { FNAME: "Alice" } },
      attachments: [{ name: "a.txt", type: "text/plain", content: "aGk=" }],
      images: [{ name: "logo", type: "image/png", content: "iVBORw0KGgo=" }],
      trackOpens: true,
      important: false,
      sendAt: new Date(Date.now() - 60_000),
      subaccount: "customer-123",
    };
    const copy = structuredClone(message);
    deepFreeze(message);
    const result = await sender.send(ACME, message);
    expect(result.recipients.map((r) => r.status)).toEqual(["sent", "suppressed", "sent", "sent"]);
    expect(message).toEqual(copy);
  });
});

describe("Mandrill errors", () => {
  it("turns Invalid_Key into MandrillKitApiError with a hint about inactive keys and IP restrictions", async () => {
    const key = "md-not-a-key-of-this-account";
    await kit.credentials.save("badkey", {
      transport: "api",
      username: "x",
      apiKey: key,
      fromEmail: "hello@example.com",
    });
    const error = await rejection(sender.send("badkey", { to: uniqueEmail("k"), text: "x" }));
    expect(error).toBeInstanceOf(MandrillKitApiError);
    const e = error as MandrillKitApiError;
    expect(e.code).toBe("ERR_MK_MANDRILL_API");
    expect(e.mandrillName).toBe("Invalid_Key");
    expect(e.status).toBe(500);
    expect(e.retryable).toBe(false);
    expect(e.hint).toMatch(/inactive/);
    expect(e.hint).toMatch(/IP/);
    expect(e.message).not.toContain(key);
    expect(apiCalls(sim, "messages/send")).toHaveLength(1);
  });

  it.each([
    ["a disabled", DEMO_KEYS.disabled],
    ["an IP-restricted", DEMO_KEYS.ipRestricted],
  ])("turns %s key into Invalid_Key", async (_kind, key) => {
    const account = `key-${key.slice(4, 12)}`;
    await kit.credentials.save(account, {
      transport: "api",
      username: "x",
      apiKey: key,
      fromEmail: "hello@example.com",
    });
    const error = await rejection(sender.send(account, { to: uniqueEmail("k"), text: "x" }));
    expect(error).toMatchObject({ mandrillName: "Invalid_Key", retryable: false });
  });

  it("switches on Mandrill's name, not the legacy HTTP 500: Unknown_Subaccount is not retried", async () => {
    const error = await rejection(
      sender.send(ACME, { to: uniqueEmail("s"), text: "x", subaccount: "nobody" }),
    );
    expect(error).toMatchObject({ mandrillName: "Unknown_Subaccount", status: 500, retryable: false });
    expect(apiCalls(sim, "messages/send")).toHaveLength(1);
  });

  it("turns PaymentRequired (scheduling without balance) into an error with a hint about the balance", async () => {
    sim.control.setBalance(0);
    try {
      const sendAt = new Date(Date.now() + 24 * 60 * 60 * 1000);
      const error = await rejection(sender.send(ACME, { to: uniqueEmail("p"), text: "x", sendAt }));
      expect(error).toMatchObject({ mandrillName: "PaymentRequired", retryable: false });
      expect((error as MandrillKitApiError).hint).toMatch(/balance/);
    } finally {
      sim.control.setBalance(100);
    }
  });

  describe("with modern HTTP statuses (4xx/5xx)", () => {
    let modern: Simulator;
    let modernSender: Sender;

    beforeAll(async () => {
      modern = await startSimulator({ flushIntervalMs: 0, smtpPort: false, errorStatus: "modern" });
      modernSender = senderWith({ baseUrl: modern.apiUrl, ...FAST_API });
      await kit.credentials.save("modern", {
        transport: "api",
        username: "x",
        apiKey: DEMO_KEYS.valid,
        fromEmail: "hello@example.com",
      });
      await kit.credentials.save("modern-bad", {
        transport: "api",
        username: "x",
        apiKey: "md-unknown-key-0001",
        fromEmail: "hello@example.com",
      });
    });

    afterEach(() => {
      modern.control.clearFaults();
      modern.control.clearRecords();
    });

    afterAll(async () => {
      await modern?.close();
    });

    it("maps 401 Invalid_Key like the legacy 500 one", async () => {
      const error = await rejection(modernSender.send("modern-bad", { to: uniqueEmail("m"), text: "x" }));
      expect(error).toMatchObject({ mandrillName: "Invalid_Key", status: 401, retryable: false });
      expect((error as MandrillKitApiError).hint).toMatch(/inactive/);
    });

    it("does not retry 404 Unknown_Template", async () => {
      const error = await rejection(
        modernSender.send("modern", { to: uniqueEmail("m"), template: { name: "missing" } }),
      );
      expect(error).toMatchObject({ mandrillName: "Unknown_Template", status: 404, retryable: false });
      expect(modern.inspect.apiLog().filter((e) => e.method === "messages/send-template")).toHaveLength(1);
    });

    it("retries 503 ServiceUnavailable and sends once it recovers", async () => {
      modern.control.fault({ kind: "service-unavailable", method: "messages/send", times: 1 });
      const result = await modernSender.send("modern", { to: uniqueEmail("m"), text: "x" });
      expect(result.recipients[0]?.status).toBe("sent");
      expect(modern.inspect.apiLog().map((e) => e.status)).toEqual([503, 200]);
      expect(modern.inspect.outbox()).toHaveLength(1);
    });
  });
});

describe("retries", () => {
  it("retries a 429 after the Retry-After Mandrill asked for", async () => {
    sim.control.fault({ kind: "rate-limit", retryAfterSeconds: 1, method: "messages/send", times: 1 });
    const result = await sender.send(ACME, { to: uniqueEmail("r"), text: "x" });
    expect(result.recipients[0]?.status).toBe("sent");
    const calls = apiCalls(sim, "messages/send");
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    // Timestamps of the simulator's own API log: the retry came no sooner than Retry-After.
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(990);
    expect(sim.inspect.outbox()).toHaveLength(1);
  });

  it("stops at once when Retry-After is longer than maxRetryAfterMs", async () => {
    sim.control.fault({ kind: "rate-limit", retryAfterSeconds: 60, method: "messages/send" });
    const error = await rejection(sender.send(ACME, { to: uniqueEmail("r"), text: "x" }));
    expect(error).toMatchObject({ mandrillName: "RequestLimitExceeded", status: 429, retryable: true });
    expect(apiCalls(sim, "messages/send")).toHaveLength(1);
  });

  it("gives up on a persistent 429 after maxAttempts", async () => {
    sim.control.fault({ kind: "rate-limit", retryAfterSeconds: 0, method: "messages/send" });
    const error = await rejection(sender.send(ACME, { to: uniqueEmail("r"), text: "x" }));
    expect(error).toBeInstanceOf(MandrillKitApiError);
    expect(error).toMatchObject({ mandrillName: "RequestLimitExceeded", retryable: true });
    expect(apiCalls(sim, "messages/send")).toHaveLength(3);
    expect(sim.inspect.outbox()).toHaveLength(0);
  });

  it.each(["service-unavailable", "general-error"] as const)(
    "retries %s and sends once Mandrill recovers",
    async (kind) => {
      sim.control.fault({ kind, method: "messages/send", times: 2 });
      const result = await sender.send(ACME, { to: uniqueEmail("r"), text: "x" });
      expect(result.recipients[0]?.status).toBe("sent");
      expect(apiCalls(sim, "messages/send").map((c) => c.status)).toEqual([500, 500, 200]);
      expect(sim.inspect.outbox()).toHaveLength(1);
    },
  );

  it.each([
    ["service-unavailable", "ServiceUnavailable"],
    ["general-error", "GeneralError"],
  ] as const)("gives up on a persistent %s after maxAttempts with a retryable error", async (kind, name) => {
    sim.control.fault({ kind, method: "messages/send" });
    const error = await rejection(sender.send(ACME, { to: uniqueEmail("r"), text: "x" }));
    expect(error).toBeInstanceOf(MandrillKitApiError);
    expect(error).toMatchObject({ mandrillName: name, retryable: true });
    expect(apiCalls(sim, "messages/send")).toHaveLength(3);
  });

  it("honours maxAttempts", async () => {
    const patient = senderWith({ baseUrl: sim.apiUrl, ...FAST_API, maxAttempts: 5 });
    sim.control.fault({ kind: "service-unavailable", method: "messages/send" });
    await expect(patient.send(ACME, { to: uniqueEmail("r"), text: "x" })).rejects.toBeInstanceOf(
      MandrillKitApiError,
    );
    expect(apiCalls(sim, "messages/send")).toHaveLength(5);
  });

  it("retries a refused connection, then throws a retryable MandrillKitTransportError", async () => {
    const port = await closedPort();
    const offline = senderWith({ baseUrl: `http://127.0.0.1:${port}/api/1.0/`, ...FAST_API });
    let connectErrors = 0;
    const onConnectError = (message: unknown) => {
      if (
        (message as { connectParams?: { port?: string | number } }).connectParams?.port?.toString() ===
        String(port)
      ) {
        connectErrors += 1;
      }
    };
    subscribe("undici:client:connectError", onConnectError);
    try {
      const error = await rejection(offline.send(ACME, { to: uniqueEmail("c"), text: "x" }));
      expect(error).toBeInstanceOf(MandrillKitTransportError);
      expect(error).toMatchObject({ code: "ERR_MK_TRANSPORT_FAILED", retryable: true });
      expect((error as Error).message).toContain("ECONNREFUSED");
      expect(connectErrors).toBe(3);
    } finally {
      unsubscribe("undici:client:connectError", onConnectError);
    }
  });
});

describe("no double send", () => {
  it("answers unknown when no answer comes within requestTimeoutMs, and Mandrill gets the message once", async () => {
    // undici runs its headers timeout on a ~500 ms tick, so the answer must come well after that.
    const fault = sim.control.fault({ kind: "latency", ms: 2000, method: "messages/send", times: 5 });
    const hank = uniqueEmail("hank");
    const result = await sender.send(ACME, { to: hank, subject: "Slow", text: "x" });

    expect(result.recipients[0]).toMatchObject({ email: hank, status: "unknown", messageId: null });
    // Requests that reached the simulator consumed a use of the fault; wait until each was processed.
    const arrived = 5 - (fault.remaining ?? 0);
    await eventually(() => apiCalls(sim, "messages/send").length >= arrived);
    expect(arrived).toBe(1);
    expect(sim.inspect.outbox()).toHaveLength(1);
    expect(outboxRecipients(sim)).toEqual([hank]);
    expect((await sendsOf(sender, store, ACME, hank)).map((s) => s.status)).toEqual(["unknown"]);
  });

  it("answers unknown when the connection is reset after the request, and does not send again", async () => {
    const fault = sim.control.fault({ kind: "reset", method: "messages/send", times: 5 });
    const ivan = uniqueEmail("ivan");
    const result = await sender.send(ACME, { to: ivan, subject: "Reset", text: "x" });

    expect(result.recipients[0]).toMatchObject({ status: "unknown" });
    expect(fault.remaining).toBe(4);
    expect(apiCalls(sim, "messages/send").map((c) => c.status)).toEqual([0]);
    expect((await sendsOf(sender, store, ACME, ivan)).map((s) => s.status)).toEqual(["unknown"]);
  });
});
