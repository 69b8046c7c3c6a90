import {
  createMemoryStore,
  MandrillKitSendError,
  MandrillKitTransportError,
  type Store,
} from "@mandrill-kit/core";
import type { MandrillKitMiddleware } from "@mandrill-kit/credentials";
import { createSender, type Sender, type SenderOptions } from "@mandrill-kit/sender";
import { DEMO_KEYS, type FaultSpec, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  FAST_API,
  LOCAL_NETWORK,
  newKit,
  outboxRecipients,
  sendsOf,
  simulatorRoute,
  uniqueEmail,
} from "./helpers.js";

const MAILER = "mailer";
const SMTP_SETTINGS = {
  transport: "smtp",
  host: "smtp.mandrillapp.com",
  port: 587,
  username: "any-username",
  apiKey: DEMO_KEYS.valid,
  fromEmail: "hello@example.com",
  fromName: "Acme",
} as const;

let sim: Simulator;
let store: Store;
let kit: MandrillKitMiddleware;
let sender: Sender;
const extraSenders: Sender[] = [];

function senderWith(options: Omit<SenderOptions, "context">): Sender {
  const s = createSender({
    context: kit.context,
    api: { baseUrl: sim.apiUrl, ...FAST_API },
    network: LOCAL_NETWORK,
    ...options,
  });
  extraSenders.push(s);
  return s;
}

let accounts = 0;
/** A fresh SMTP account (its own pool), saved with `overrides`. */
async function freshAccount(overrides: Record<string, unknown> = {}): Promise<string> {
  accounts += 1;
  const account = `smtp-${accounts}`;
  await kit.credentials.save(account, { ...SMTP_SETTINGS, ...overrides });
  return account;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected the promise to reject");
    },
    (e: unknown) => e,
  );
}

beforeAll(async () => {
  sim = await startSimulator({ flushIntervalMs: 0, smtpsPort: 0 });
  store = createMemoryStore();
  kit = newKit(store);
  await kit.credentials.save(MAILER, SMTP_SETTINGS);
  sender = createSender({
    network: LOCAL_NETWORK,
    context: kit.context,
    api: { baseUrl: sim.apiUrl, ...FAST_API },
    smtp: { route: simulatorRoute(sim), connectionTimeoutMs: 2000, socketTimeoutMs: 2000 },
  });
});

afterEach(() => {
  sim.control.clearFaults();
  sim.control.clearRecords();
});

afterAll(async () => {
  await sender?.close();
  for (const s of extraSenders) await s.close();
  await sim?.close();
  await store?.close();
});

describe("SMTP transport (STARTTLS + AUTH against the simulator)", () => {
  it("answers sent for every recipient once the server accepted the message, and records the send", async () => {
    const alice = uniqueEmail("alice");
    const bob = uniqueEmail("bob");
    const result = await sender.send(MAILER, {
      to: { email: alice, name: "Alice" },
      cc: bob,
      subject: "Your receipt",
      text: "Thanks",
      html: "<p>Thanks</p>",
    });

    expect(result.transport).toBe("smtp");
    expect(result.recipients).toEqual([
      expect.objectContaining({ email: alice, status: "sent", messageId: null }),
      expect.objectContaining({ email: bob, status: "sent", messageId: null }),
    ]);
    const out = sim.inspect.lastMessage();
    expect(out).toMatchObject({
      transport: "smtp",
      from: { email: "hello@example.com", name: "Acme" },
      subject: "Your receipt",
      text: "Thanks",
      html: "<p>Thanks</p>",
    });
    expect(out?.key.endsWith(DEMO_KEYS.valid.slice(-4))).toBe(true);
    expect(out?.smtp?.username).toBe("any-username");
    expect(out?.recipients.map((r) => `${r.type}:${r.email}`)).toEqual([`to:${alice}`, `cc:${bob}`]);
    expect(await sendsOf(sender, store, MAILER, alice)).toEqual([
      expect.objectContaining({ status: "sent", transport: "smtp", correlationId: result.correlationId }),
    ]);
  });

  it("verifies the server's certificate: without the simulator's CA nothing is sent, and the error says why", async () => {
    const untrusting = senderWith({
      smtp: {
        route: () => ({ host: sim.smtp.host, port: sim.smtp.port ?? 0, secure: false }),
        connectionTimeoutMs: 2000,
      },
    });
    const error = await rejection(untrusting.send(MAILER, { to: uniqueEmail("tls"), text: "x" }));
    expect(error).toBeInstanceOf(MandrillKitTransportError);
    expect(sim.inspect.outbox()).toHaveLength(0);
    // A certificate problem is not a blocked port: the message must say what failed.
    expect((error as Error).message).toMatch(/certificate/i);
    expect((error as Error).message).not.toMatch(/blocked/);
    expect(error).toMatchObject({ retryable: false });
  });

  it("carries tags, metadata, subaccount, merge vars, tracking and importance as X-MC-* headers", async () => {
    const alice = uniqueEmail("alice");
    const bob = uniqueEmail("bob");
    const result = await sender.send(MAILER, {
      to: [alice, bob],
      subject: "Order *|ORDER|*",
      html: "<p>Hi *|FNAME|*</p>",
      text: "Hi *|FNAME|*",
      replyTo: "support@example.com",
      headers: { "X-Campaign": "spring" },
      tags: ["receipt", "shop"],
      metadata: { order_id: "A1001" },
      recipientMetadata: { [alice]: { user_id: 42 } },
      mergeVars: { ORDER: "A1001" },
      recipientMergeVars: { [alice]: { FNAME: "Alice" }, [bob]: { FNAME: "Bob" } },
      trackOpens: true,
      trackClicks: true,
      important: true,
      subaccount: "customer-123",
    });
    const out = sim.inspect.lastMessage();
    const mc = out?.smtp?.mcHeaders ?? {};

    expect(mc["x-mc-tags"]).toEqual(["receipt,shop"]);
    expect(mc["x-mc-subaccount"]).toEqual(["customer-123"]);
    expect(mc["x-mc-track"]).toEqual(["opens,clicks_all"]);
    expect(mc["x-mc-important"]).toEqual(["true"]);
    const metadata = (mc["x-mc-metadata"] ?? []).map((v) => JSON.parse(v) as Record<string, unknown>);
    expect(metadata).toContainEqual({ order_id: "A1001", mk_correlation_id: result.correlationId });
    expect(metadata).toContainEqual({ _rcpt: alice, user_id: 42 });
    const mergeVars = (mc["x-mc-mergevars"] ?? []).map((v) => JSON.parse(v) as Record<string, unknown>);
    expect(mergeVars).toContainEqual({ ORDER: "A1001" });
    expect(mergeVars).toContainEqual({ _rcpt: alice, FNAME: "Alice" });
    expect(mergeVars).toContainEqual({ _rcpt: bob, FNAME: "Bob" });

    // What Mandrill makes of those headers (docs/mandrill.md#how-mandrill-handles-smtp-mail and docs/mandrill.md#x-mc-headers).
    expect(out?.tags).toEqual(["receipt", "shop"]);
    expect(out?.metadata).toEqual({ order_id: "A1001", mk_correlation_id: result.correlationId });
    expect(out?.subaccount).toBe("customer-123");
    expect(out?.headers).toMatchObject({ "Reply-To": "support@example.com", "X-Campaign": "spring" });
    expect(out?.message).toMatchObject({
      track_opens: true,
      track_clicks: true,
      important: true,
      recipient_metadata: [{ rcpt: alice, values: { user_id: 42 } }],
    });
    const rendered = Object.fromEntries(out?.recipients.map((r) => [r.email, r]) ?? []);
    expect(rendered[alice]?.subject).toBe("Order A1001");
    expect(rendered[alice]?.text).toBe("Hi Alice");
    expect(rendered[bob]?.html).toBe("<p>Hi Bob</p>");
  });

  it("sends attachments and inline images", async () => {
    const pdf = Buffer.from("%PDF-1.4 receipt");
    await sender.send(MAILER, {
      to: uniqueEmail("att"),
      subject: "Files",
      html: '<p><img src="cid:logo"></p>',
      attachments: [
        { name: "receipt.pdf", type: "application/pdf", content: pdf },
        { name: "notes.txt", type: "text/plain", content: Buffer.from("hello").toString("base64") },
      ],
      images: [{ name: "logo", type: "image/png", content: "iVBORw0KGgo=" }],
    });
    const message = sim.inspect.lastMessage()?.message;
    expect(message?.attachments).toEqual([
      { name: "receipt.pdf", type: "application/pdf", content: pdf.toString("base64") },
      { name: "notes.txt", type: "text/plain", content: Buffer.from("hello").toString("base64") },
    ]);
    expect(message?.images).toEqual([{ name: "logo", type: "image/png", content: "iVBORw0KGgo=" }]);
  });

  it("sends a stored template with X-MC-Template, the body going into the main block", async () => {
    const ann = uniqueEmail("ann");
    await sender.send(MAILER, {
      to: ann,
      template: { name: "welcome" },
      html: "<p>Your account is ready.</p>",
      mergeVars: { FNAME: "Ann" },
    });
    const out = sim.inspect.lastMessage();
    expect(out?.smtp?.mcHeaders["x-mc-template"]).toEqual(["welcome|main"]);
    expect(out?.template?.name).toBe("welcome");
    expect(out?.recipients[0]?.html).toBe(
      '<p>Hello Ann,</p><div mc:edit="main"><p>Your account is ready.</p></div>',
    );
    expect(sim.inspect.apiLog().map((e) => `${e.transport}:${e.method}`)).toEqual([
      "smtp:messages/send-template",
    ]);
  });

  it("leaves suppressed recipients out of the SMTP envelope, the headers and the X-MC-* headers", async () => {
    const alice = uniqueEmail("alice");
    const gone = uniqueEmail("gone");
    const hidden = uniqueEmail("hidden");
    await store.suppressions.add({ account: MAILER, email: gone, reason: "hard-bounce", source: "manual" });
    await store.suppressions.add({ account: MAILER, email: hidden, reason: "spam", source: "manual" });

    const result = await sender.send(MAILER, {
      to: [alice, gone],
      bcc: hidden,
      subject: "Hi",
      text: "Hi *|FNAME|*",
      recipientMergeVars: { [alice]: { FNAME: "Alice" }, [gone]: { FNAME: "Gone" } },
      recipientMetadata: { [gone]: { user_id: 7 } },
    });

    expect(result.recipients.map((r) => [r.email, r.status, r.rejectReason])).toEqual([
      [alice, "sent", null],
      [gone, "suppressed", "hard-bounce"],
      [hidden, "suppressed", "spam"],
    ]);
    const smtp = sim.inspect.lastMessage()?.smtp;
    expect(smtp?.envelope.to).toEqual([alice]);
    expect(smtp?.raw).not.toContain(gone);
    expect(smtp?.raw).not.toContain(hidden);
  });

  it("refuses a header value with CR/LF, as the API transport does, and sends nothing", async () => {
    const error = await rejection(
      sender.send(MAILER, {
        to: uniqueEmail("h"),
        text: "x",
        headers: { "X-Campaign": "spring\r\nBcc: victim@example.org" },
      }),
    );
    expect(error).toMatchObject({ code: "ERR_MK_VALIDATION_FAILED" });
    expect(sim.inspect.outbox()).toHaveLength(0);
  });

  it("opens no SMTP session when every recipient is suppressed", async () => {
    const gone = uniqueEmail("gone");
    await store.suppressions.add({ account: MAILER, email: gone, reason: "unsub", source: "manual" });
    const result = await sender.send(MAILER, { to: gone, text: "x" });
    expect(result.recipients[0]).toMatchObject({ status: "suppressed", rejectReason: "unsub" });
    expect(sim.inspect.outbox()).toHaveLength(0);
  });

  it("throws MandrillKitTransportError naming the refused login for a bad API key, without the key", async () => {
    const key = "md-wrong-key-for-smtp-0001";
    const account = await freshAccount({ apiKey: key });
    const error = await rejection(sender.send(account, { to: uniqueEmail("k"), text: "x" }));
    expect(error).toBeInstanceOf(MandrillKitTransportError);
    expect(error).toMatchObject({ code: "ERR_MK_TRANSPORT_FAILED", retryable: false });
    expect((error as Error).message).toMatch(/login/);
    expect((error as Error).message).not.toContain(key);
    expect(sim.inspect.outbox()).toHaveLength(0);
  });
});

describe("implicit TLS (port 465)", () => {
  it("sends over TLS from the first byte through the sender's own socket, the certificate checked", async () => {
    const tls = senderWith({
      smtp: {
        route: () => ({
          host: sim.smtp.host,
          port: sim.smtp.securePort ?? 0,
          secure: true,
          tls: { ca: sim.smtp.ca },
        }),
      },
    });
    const account = await freshAccount({ port: 465 });
    const ken = uniqueEmail("ken");
    const result = await tls.send(account, { to: ken, text: "x" });
    expect(result.recipients[0]).toMatchObject({ email: ken, status: "sent" });
    expect(outboxRecipients(sim)).toEqual([ken]);

    const untrusting = senderWith({
      smtp: { route: () => ({ host: sim.smtp.host, port: sim.smtp.securePort ?? 0, secure: true }) },
    });
    const error = await rejection(untrusting.send(account, { to: uniqueEmail("tls"), text: "x" }));
    expect((error as Error).message).toMatch(/certificate/i);
  });
});

describe("SMTP pools", () => {
  it("keeps one pooled transport per account and settings version; new settings use the new key", async () => {
    const opened: string[] = [];
    const route = simulatorRoute(sim);
    const pooled = senderWith({
      smtp: {
        route: (settings) => {
          opened.push(`${settings.account}@${settings.version}`);
          return route(settings);
        },
      },
    });
    const account = await freshAccount();
    const other = await freshAccount();

    await pooled.send(account, { to: uniqueEmail("p1"), text: "one" });
    await pooled.send(account, { to: uniqueEmail("p2"), text: "two" });
    await pooled.send(other, { to: uniqueEmail("p3"), text: "three" });
    expect(opened).toHaveLength(2);
    expect(new Set(opened.map((o) => o.split("@")[0]))).toEqual(new Set([account, other]));

    await kit.credentials.save(account, { apiKey: DEMO_KEYS.test });
    await pooled.send(account, { to: uniqueEmail("p4"), text: "four" });
    expect(opened).toHaveLength(3);
    const out = sim.inspect.outbox();
    // The saved key is a test key: only the last message went out with it.
    expect(out.map((m) => m.test)).toEqual([false, false, false, true]);
  });
});

describe("SMTP pool limit (smtp.maxPools)", () => {
  /** A sender with `maxPools`, recording each pool it opens as the account's name. */
  function limited(maxPools: number, maxConnections = 2) {
    const opened: string[] = [];
    const route = simulatorRoute(sim);
    const s = senderWith({
      smtp: {
        maxPools,
        maxConnections,
        route: (settings) => {
          opened.push(settings.account);
          return route(settings);
        },
      },
    });
    return { sender: s, opened };
  }

  it("keeps at most maxPools open and closes the least recently used one, reopening it on its next send", async () => {
    const { sender: s, opened } = limited(2);
    const [a, b, c] = [await freshAccount(), await freshAccount(), await freshAccount()];
    const send = (account: string) => s.send(account, { to: uniqueEmail("lru"), text: "x" });
    await send(a);
    await send(b);
    await send(c); // a, least recently used, is closed
    await send(b); // still open
    await send(a); // reopened; c is now the least recently used
    await send(c);
    expect(opened).toEqual([a, b, c, a, c]);
    expect(outboxRecipients(sim)).toHaveLength(6);
  });

  it("lets the sends already on a closed pool finish, the one being delivered and the ones queued behind it", async () => {
    // One connection per pool: a second send on the same account waits in the pool's queue.
    const { sender: s, opened } = limited(1, 1);
    const [a, b] = [await freshAccount(), await freshAccount()];
    await s.send(a, { to: uniqueEmail("warm"), text: "x" });
    sim.control.fault({ kind: "smtp-latency", ms: 400, stage: "data", times: 1 });
    const slow = s.send(a, { to: uniqueEmail("slow"), text: "held at DATA" });
    // The fault is used up once the simulator holds the message at DATA: the send is on a's pool now.
    await eventually(() => sim.inspect.faults().length === 0);
    const queued = s.send(a, { to: uniqueEmail("queued"), text: "waits for the connection" });
    // b's pool pushes a's out while a's messages are still on it.
    const other = await s.send(b, { to: uniqueEmail("other"), text: "y" });
    expect(other.recipients[0]?.status).toBe("sent");
    expect((await slow).recipients[0]?.status).toBe("sent");
    expect((await queued).recipients[0]?.status).toBe("sent");
    expect(opened).toEqual([a, b]);
    expect(outboxRecipients(sim)).toHaveLength(4);
  });

  it("refuses a maxPools that is not a positive whole number at the factory", () => {
    for (const maxPools of [0, 1.5, -1])
      expect(() => createSender({ context: kit.context, smtp: { maxPools } })).toThrow(
        /smtp\.maxPools.*(positive|whole|integer|at least)/i,
      );
  });
});

describe("SMTP faults", () => {
  it("sends once, over a new connection, when the server closes a pooled connection (421) before DATA", async () => {
    const account = await freshAccount();
    await sender.send(account, { to: uniqueEmail("warm"), text: "opens the pooled connection" });
    sim.control.fault({ kind: "smtp-reply", code: 421, stage: "mail", times: 1 });
    const result = await sender.send(account, { to: uniqueEmail("r"), text: "x" });
    expect(result.recipients[0]?.status).toBe("sent");
    expect(sim.inspect.outbox()).toHaveLength(2);
  });

  it.each([
    [451, true],
    [550, false],
  ])("turns %i at MAIL FROM into MandrillKitTransportError (retryable: %s)", async (code, retryable) => {
    sim.control.fault({ kind: "smtp-reply", code, stage: "mail", times: 1 });
    const error = await rejection(sender.send(MAILER, { to: uniqueEmail("m"), text: "x" }));
    expect(error).toBeInstanceOf(MandrillKitTransportError);
    expect(error).toMatchObject({ retryable });
    expect((error as Error).message).toContain(String(code));
    expect(sim.inspect.outbox()).toHaveLength(0);
  });

  it.each([450, 550])(
    "reports a recipient refused with %i at RCPT TO as rejected, and sends to the others",
    async (code) => {
      sim.control.fault({ kind: "smtp-reply", code, stage: "rcpt", times: 1 });
      const refused = uniqueEmail("refused");
      const fine = uniqueEmail("fine");
      const result = await sender.send(MAILER, { to: [refused, fine], text: "x" });
      expect(result.recipients[0]).toMatchObject({ email: refused, status: "rejected" });
      expect(result.recipients[1]).toMatchObject({ email: fine, status: "sent" });
      expect(sim.inspect.lastMessage()?.smtp?.envelope.to).toEqual([fine]);
      // The server's refusal says nothing Mandrill-specific about the mailbox: not suppressed.
      expect(await store.suppressions.get(MAILER, refused)).toBeUndefined();
    },
  );

  it("throws MandrillKitSendError with every recipient rejected when the server refuses them all at RCPT TO", async () => {
    sim.control.fault({ kind: "smtp-reply", code: 550, stage: "rcpt", times: 2 });
    const a = uniqueEmail("a");
    const b = uniqueEmail("b");
    const error = await rejection(sender.send(MAILER, { to: [a, b], text: "x" }));
    expect(error).toBeInstanceOf(MandrillKitSendError);
    expect((error as MandrillKitSendError).result.recipients.map((r) => [r.email, r.status])).toEqual([
      [a, "rejected"],
      [b, "rejected"],
    ]);
    expect(sim.inspect.outbox()).toHaveLength(0);
  });

  it.each([
    [451, true],
    [554, false],
  ])(
    "turns %i after DATA (message refused, not queued) into MandrillKitTransportError (retryable: %s), not unknown",
    async (code, retryable) => {
      sim.control.fault({ kind: "smtp-reply", code, stage: "data", times: 1 });
      const error = await rejection(sender.send(MAILER, { to: uniqueEmail("d"), text: "x" }));
      expect(error).toBeInstanceOf(MandrillKitTransportError);
      expect(error).toMatchObject({ retryable });
      expect(sim.inspect.outbox()).toHaveLength(0);
    },
  );

  it("turns a temporary (454) AUTH failure into a retryable MandrillKitTransportError, not a wrong key", async () => {
    const account = await freshAccount();
    sim.control.fault({ kind: "smtp-reply", code: 454, stage: "auth", times: 1 });
    const error = await rejection(sender.send(account, { to: uniqueEmail("a"), text: "x" }));
    expect(error).toBeInstanceOf(MandrillKitTransportError);
    expect(error).toMatchObject({ retryable: true });
    expect((error as Error).message).not.toMatch(/wrong, inactive/);
  });

  it("answers unknown, and does not send again, when the server does not answer after DATA", async () => {
    // Needs an SMTP delay fault the simulator does not have yet; the shape below is the proposed one:
    // hold the reply at `stage` for `ms` (at "data": the message is processed, the 250 comes late).
    const patient = senderWith({ smtp: { route: simulatorRoute(sim), socketTimeoutMs: 300 } });
    const account = await freshAccount();
    const slow = { kind: "smtp-latency", stage: "data", ms: 1000, times: 5 } as unknown as FaultSpec;
    const fault = sim.control.fault(slow);
    const hank = uniqueEmail("hank");
    const result = await patient.send(account, { to: hank, text: "x" });
    expect(result.recipients[0]).toMatchObject({ email: hank, status: "unknown" });
    expect(fault.remaining).toBe(4);
    expect((await sendsOf(patient, store, account, hank)).map((s) => s.status)).toEqual(["unknown"]);
    await eventually(() => outboxRecipients(sim).includes(hank));
    expect(outboxRecipients(sim).filter((e) => e === hank)).toHaveLength(1);
  });
});
