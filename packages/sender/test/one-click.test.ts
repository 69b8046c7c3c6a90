import { type MandrillSettings, Secret } from "@mandrill-kit/core";
import { manualClock } from "@mandrill-kit/core/testing";
import { describe, expect, it } from "vitest";
import { resolveRecipients } from "../src/message.js";
import { withOneClickUnsubscribe } from "../src/one-click.js";
import { recipientResult, type Transport, type TransportRequest } from "../src/transports/transport.js";

const SETTINGS: MandrillSettings = {
  account: "news",
  version: 1,
  transport: "api",
  host: "smtp.mandrillapp.com",
  port: 587,
  username: "owner@example.com",
  apiKey: new Secret("md-key-0123456789"),
  fromEmail: "news@example.com",
  fromName: "News",
  replyTo: null,
  subaccount: null,
  webhookKeys: [],
  unsubscribeMode: "one-click",
  lastVerification: null,
  createdAt: 0,
  updatedAt: 0,
};

/** A transport that answers after a turn of the event loop and counts the copies in flight. */
function countingTransport(failFor: string[] = []) {
  const calls: TransportRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const transport: Transport = {
    name: "api",
    async send(request) {
      calls.push(request);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      const email = request.recipients[0]?.email ?? "";
      if (failFor.includes(email)) throw new Error(`refused ${email}`);
      return request.recipients.map((r) => recipientResult(r.email, "sent"));
    },
    verify: async () => {},
    close: async () => {},
  };
  return { transport, calls, maxInFlight: () => maxInFlight };
}

function decorate(transport: Transport, concurrency: number) {
  return withOneClickUnsubscribe(transport, {
    secret: "unsubscribe-secret-0123456789abcdefghijklmnop",
    publicUrl: "https://app.example.com",
    path: "/unsubscribe/mandrill",
    footer: true,
    concurrency,
    clock: manualClock(),
  });
}

function request(to: string[], settings = SETTINGS): TransportRequest {
  const message = { to, text: "Hello" };
  return { settings, message, recipients: resolveRecipients(message), correlationId: "c-1", headers: {} };
}

const addresses = (n: number) => Array.from({ length: n }, (_, i) => `r${i}@example.org`);

describe("one-click unsubscribe as a transport decorator", () => {
  it("sends each recipient their own copy, at most `concurrency` copies in flight, results in order", async () => {
    const fake = countingTransport();
    const to = addresses(10);
    const results = await decorate(fake.transport, 3).send(request(to));
    expect(results.map((r) => r.email)).toEqual(to);
    expect(fake.calls.map((c) => c.recipients.map((r) => r.email))).toEqual(to.map((e) => [e]));
    expect(fake.maxInFlight()).toBe(3);
    for (const call of fake.calls) {
      expect(call.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
      expect(call.message.text).toMatch(/Unsubscribe: https:\/\/app\.example\.com\/unsubscribe\/mandrill\//);
    }
  });

  it("starts no further copy once one failed, and the send rejects with that error", async () => {
    const fake = countingTransport(["r1@example.org"]);
    const send = decorate(fake.transport, 3).send(request(addresses(10)));
    await expect(send).rejects.toThrow("refused r1@example.org");
    // r0, r1, r2 were in flight together; r3 started when r0 finished, before r1's failure was seen.
    expect(fake.calls.length).toBeLessThan(10);
    expect(fake.calls.map((c) => c.recipients[0]?.email)).not.toContain("r9@example.org");
  });

  it("passes other accounts' sends through as one message", async () => {
    const fake = countingTransport();
    const to = addresses(4);
    await decorate(fake.transport, 3).send(request(to, { ...SETTINGS, unsubscribeMode: "mandrill" }));
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]?.headers).toEqual({});
  });

  it("leaves a caller's own List-Unsubscribe (any case) alone", async () => {
    const fake = countingTransport();
    const message = {
      to: addresses(3),
      text: "Hello",
      headers: { "list-unsubscribe": "<https://x.example/u>" },
    };
    await decorate(fake.transport, 3).send({ ...request(addresses(3)), message });
    expect(fake.calls).toHaveLength(1);
  });
});
