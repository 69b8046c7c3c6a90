import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createMemoryStore, type Store } from "@mandrill-kit/core";
import { createDispatcher, receive, verifyRequest } from "@mandrill-kit/webhooks";
import { eventFixtures, signWebhook, TEST_WEBHOOK_KEY } from "@mandrill-kit/webhooks/testing";
import { afterEach, describe, expect, it } from "vitest";

const URL_ACME = "https://hooks.example.com/webhooks/mandrill/acme";
const KEY = "whk-acme-0123456789abcdef";
const OLD_KEY = "whk-acme-previous-000000";

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

function signedInput(
  key: string,
  events: unknown[],
  overrides: Partial<Parameters<typeof verifyRequest>[0]> = {},
) {
  const signed = signWebhook({ key, url: URL_ACME, events });
  return {
    method: "POST",
    headers: signed.headers,
    body: signed.body,
    account: "acme",
    callbackUrl: URL_ACME,
    keys: [KEY, OLD_KEY],
    ...overrides,
  };
}

describe("verifyRequest() — pure, no HTTP framework", () => {
  it("tells a URL check, the validation POST, a batch and its key apart", () => {
    expect(
      verifyRequest({ method: "HEAD", headers: {}, account: "acme", callbackUrl: URL_ACME, keys: [] }),
    ).toEqual({
      ok: true,
      kind: "probe",
    });
    expect(verifyRequest(signedInput(TEST_WEBHOOK_KEY, [], { keys: [] }))).toMatchObject({
      ok: true,
      kind: "validation",
    });
    expect(verifyRequest(signedInput(KEY, [eventFixtures.send()]))).toMatchObject({
      ok: true,
      kind: "batch",
      keyIndex: 0,
    });
    expect(verifyRequest(signedInput(OLD_KEY, [eventFixtures.send()]))).toMatchObject({
      kind: "batch",
      keyIndex: 1,
    });
  });

  it("reads the signature header in any case and accepts fields a host parser decoded", () => {
    const signed = signWebhook({ key: KEY, url: URL_ACME, events: [eventFixtures.send()] });
    const result = verifyRequest({
      method: "post",
      headers: { "Content-Type": signed.headers["content-type"], "X-Mandrill-Signature": signed.signature },
      form: { mandrill_events: signed.mandrillEvents },
      account: "acme",
      callbackUrl: URL_ACME,
      keys: [KEY],
    });
    expect(result).toMatchObject({ ok: true, kind: "batch", mandrillEvents: signed.mandrillEvents });
  });

  it.each<[string, Parameters<typeof verifyRequest>[0], number, string]>([
    ["a wrong key", signedInput("whk-wrong-0000000000", [eventFixtures.send()]), 401, "signature-mismatch"],
    ["an account without keys", signedInput(KEY, [eventFixtures.send()], { keys: [] }), 401, "no-key"],
    ["only blank keys", signedInput("", [eventFixtures.send()], { keys: ["", " "] }), 401, "no-key"],
    ["an invalid account id", signedInput(KEY, [eventFixtures.send()], { account: "a..b" }), 401, "account"],
    [
      "no signature",
      {
        ...signedInput(KEY, [eventFixtures.send()]),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      },
      401,
      "no-signature",
    ],
    [
      "a JSON body",
      { ...signedInput(KEY, []), headers: { "content-type": "application/json" } },
      415,
      "content-type",
    ],
    ["a PUT", { ...signedInput(KEY, []), method: "PUT" }, 405, "method"],
  ])("refuses %s with the status and reason to act on", (_what, input, status, reason) => {
    expect(verifyRequest(input)).toMatchObject({ ok: false, status, reason });
  });

  it("gives every 401 the same message", () => {
    const messages = new Set(
      [
        signedInput("whk-wrong-0000000000", [eventFixtures.send()]),
        signedInput(KEY, [eventFixtures.send()], { keys: [] }),
        signedInput(KEY, [eventFixtures.send()], { account: "a..b" }),
      ].map((input) => {
        const result = verifyRequest(input);
        return result.ok ? "" : result.message;
      }),
    );
    expect(messages.size).toBe(1);
  });
});

describe("the layers used without Express", () => {
  it("make a node:http webhook endpoint from verifyRequest → receive, and a dispatcher runs its handlers", async () => {
    const store = createMemoryStore();
    stores.push(store);
    const server = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const verified = verifyRequest({
        method: req.method ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks),
        account: "acme",
        callbackUrl: URL_ACME,
        keys: [KEY],
      });
      const { reply } = await receive(verified, { store });
      res.writeHead(reply.status, { "content-type": reply.contentType }).end(reply.body);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const events = [eventFixtures.hard_bounce({ email: "bounced@example.com" })];
      const good = signWebhook({ key: KEY, url: URL_ACME, events });
      const ok = await fetch(url, { method: "POST", headers: good.headers, body: good.body });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ received: 1, new: 1, duplicates: 0 });
      const forged = signWebhook({ key: "whk-forged-00000000", url: URL_ACME, events });
      expect((await fetch(url, { method: "POST", headers: forged.headers, body: forged.body })).status).toBe(
        401,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await store.suppressions.check("acme", ["bounced@example.com"])).toHaveLength(1);

    const dispatcher = createDispatcher({ store });
    const bounced: string[] = [];
    dispatcher.on("hard_bounce", (event) => {
      bounced.push(event.email ?? "");
    });
    expect(await dispatcher.runDue()).toBe(1);
    await dispatcher.close();
    expect(bounced).toEqual(["bounced@example.com"]);
  });
});
