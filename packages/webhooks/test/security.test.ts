import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { createMemoryStore, type Store } from "@mandrill-kit/core";
import { manualClock } from "@mandrill-kit/core/testing";
import {
  type MandrillWebhooks,
  type MandrillWebhooksOptions,
  mandrillWebhooks,
} from "@mandrill-kit/webhooks";
import { eventFixtures, signWebhook } from "@mandrill-kit/webhooks/testing";
import express from "express";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { createDiagnosisLog } from "../src/mismatch-diagnoses.js";
import { resolveWebhooksOptions } from "../src/webhooks-options.js";

const PUBLIC_URL = "https://hooks.example.com";
const URL_ACME = `${PUBLIC_URL}/webhooks/mandrill/acme`;
const KEY = "whk-acme-0123456789abcdef";

const closables: (MandrillWebhooks | Store)[] = [];
afterEach(async () => {
  for (const c of closables.splice(0)) await c.close();
});

function setup(options: Partial<MandrillWebhooksOptions> = {}) {
  const store = createMemoryStore();
  const webhooks = mandrillWebhooks({ store, publicUrl: PUBLIC_URL, webhookKeys: () => [KEY], ...options });
  closables.push(webhooks, store);
  const app = express();
  app.use(webhooks);
  const post = (key: string, events: unknown[], account = "acme") => {
    const signed = signWebhook({ key, url: `${PUBLIC_URL}/webhooks/mandrill/${account}`, events });
    return request(app).post(`/webhooks/mandrill/${account}`).set(signed.headers).send(signed.body);
  };
  return { app, store, webhooks, post };
}

describe("an empty webhook key never verifies anything", () => {
  it.each<[string, string | string[]]>([
    ['key: ""', ""],
    ['key: [""]', [""]],
    ['key: ["  "]', ["  "]],
    ['key: [valid, ""]', [KEY, ""]],
    ["key: []", []],
  ])("refuses %s at factory time with ERR_MK_CONFIG_INVALID", (_what, key) => {
    expect(() =>
      mandrillWebhooks({ store: createMemoryStore(), path: "/hooks/mandrill", publicUrl: PUBLIC_URL, key }),
    ).toThrow(expect.objectContaining({ code: "ERR_MK_CONFIG_INVALID", option: "key" }));
  });

  it("answers 401 to a batch signed with the empty key when webhookKeys() returns empty or blank keys", async () => {
    const { post, store } = setup({ webhookKeys: () => ["", "   "] });
    for (const forged of ["", "   "]) {
      const response = await post(forged, [eventFixtures.unsub({ email: "victim@example.com" })]);
      expect(response.status, JSON.stringify(forged)).toBe(401);
    }
    expect(await store.suppressions.check("acme", ["victim@example.com"])).toHaveLength(0);
  });

  it("still accepts the real key next to an empty one returned by webhookKeys()", async () => {
    const { post } = setup({ webhookKeys: () => ["", KEY] });
    expect((await post("", [eventFixtures.send()])).status).toBe(401);
    expect((await post(KEY, [eventFixtures.send()])).status).toBe(200);
  });
});

describe("a slowly trickled body", () => {
  it("is cut off with 408 after bodyTimeoutMs and its connection closed", async () => {
    const { app, store } = setup({ bodyTimeoutMs: 300 });
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    const socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      answer += chunk;
    });
    socket.write(
      "POST /webhooks/mandrill/acme HTTP/1.1\r\nHost: hooks.example.com\r\n" +
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nmandrill_events=",
    );
    // The attacker: one byte every 20 ms, for as long as the socket stays open.
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write("%");
    }, 20);
    try {
      await once(socket, "close");
    } finally {
      clearInterval(trickle);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer.toLowerCase()).toContain("connection: close");
    expect((await store.inbox.stats("acme")).total).toBe(0);
  });

  it("is given 30 seconds by default", () => {
    expect(resolveWebhooksOptions({}).bodyTimeoutMs).toBe(30_000);
  });
});

describe("signature-mismatch diagnosis on unauthenticated posts", () => {
  const wrongKey = "whk-someone-elses-key-4242";

  it("is not run on a body over 64 KiB (it costs CPU in proportion to the body)", async () => {
    const { post, webhooks } = setup();
    const big = Array.from({ length: 300 }, (_, i) => eventFixtures.send({ email: `r${i}@example.com` }));
    expect(signWebhook({ key: wrongKey, url: URL_ACME, events: big }).body.length).toBeGreaterThan(64 * 1024);
    const response = await post(wrongKey, big);
    expect(response.status).toBe(401);
    expect(webhooks.diagnoses("acme")).toEqual([]);
    expect((await post(wrongKey, [eventFixtures.send()])).status).toBe(401);
    expect(webhooks.diagnoses("acme")).toHaveLength(1);
  });

  it("is rate-limited per account: a burst of 5, then one every 12 seconds", async () => {
    const clock = manualClock();
    const { post, webhooks } = setup({ clock });
    for (let i = 0; i < 8; i++) expect((await post(wrongKey, [eventFixtures.send()])).status).toBe(401);
    expect(webhooks.diagnoses("acme")).toHaveLength(5);
    clock.advance(12_000);
    await post(wrongKey, [eventFixtures.send()]);
    await post(wrongKey, [eventFixtures.send()]);
    expect(webhooks.diagnoses("acme")).toHaveLength(6);
  });

  it("answers an unknown account and a known account's wrong signature alike, and diagnoses neither of the unknown", async () => {
    const { post, webhooks } = setup({ webhookKeys: (account) => (account === "acme" ? [KEY] : []) });
    const known = await post(wrongKey, [eventFixtures.send()], "acme");
    const unknown = await post(wrongKey, [eventFixtures.send()], "ghost");
    expect([known.status, unknown.status]).toEqual([401, 401]);
    expect(unknown.text).toBe(known.text);
    expect(unknown.headers["content-type"]).toBe(known.headers["content-type"]);
    expect(webhooks.diagnoses("ghost")).toEqual([]);
  });

  it("keeps its memory bounded to 1000 accounts, forgetting the least recently seen", () => {
    const clock = manualClock();
    const log = createDiagnosisLog(clock);
    for (let i = 0; i < 1001; i++) {
      clock.advance(1000);
      expect(log.admit(`a${i}`, 100)).toBe("diagnose");
      log.record({ at: clock.now(), account: `a${i}`, finding: "f", advice: "a", callbackUrl: URL_ACME });
    }
    expect(log.list("a0")).toEqual([]);
    expect(log.list("a1")).toHaveLength(1);
    expect(log.list("a1000")).toHaveLength(1);
  });
});
