import { createMemoryStore, isAccountId, normalizeEmail, type Store } from "@mandrill-kit/core";
import { type ManualClock, manualClock } from "@mandrill-kit/core/testing";
import type { MandrillKitMiddleware } from "@mandrill-kit/credentials";
import { createSender, mandrillUnsubscribe, type Sender } from "@mandrill-kit/sender";
import { DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import express, { type Express } from "express";
import fc from "fast-check";
import request from "supertest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { signUnsubscribeToken, verifyUnsubscribeToken } from "../src/unsubscribe-token.js";
import { deepFreeze, FAST_API, LOCAL_NETWORK, newKit, simulatorRoute, uniqueEmail } from "./helpers.js";

const SECRET = "unsubscribe-secret-0123456789abcdefghijklmnop";
const OTHER_SECRET = "another-secret-0123456789abcdefghijklmnopqrs";
const LINKS_URL = "https://links.example.com";
const MAILTO = "unsubscribe@app.example.com";
const LIST_UNSUBSCRIBE = new RegExp(
  `^<${LINKS_URL.replace(/\./g, "\\.")}/unsubscribe/mandrill/([A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+)>, <mailto:${MAILTO.replace(/\./g, "\\.")}\\?subject=unsubscribe>$`,
);

let sim: Simulator;
let store: Store;
let kit: MandrillKitMiddleware;
let sender: Sender;
let app: Express;

const ONE_CLICK = {
  transport: "api",
  username: "demo@example.com",
  apiKey: DEMO_KEYS.valid,
  fromEmail: "news@example.com",
  unsubscribeMode: "one-click",
} as const;

beforeAll(async () => {
  sim = await startSimulator({ flushIntervalMs: 0 });
  store = createMemoryStore();
  kit = newKit(store);
  await kit.credentials.save("news", ONE_CLICK);
  await kit.credentials.save("other", ONE_CLICK);
  await kit.credentials.save("news-smtp", {
    ...ONE_CLICK,
    transport: "smtp",
    host: "smtp.mandrillapp.com",
    port: 587,
  });
  await kit.credentials.save("plain", { ...ONE_CLICK, unsubscribeMode: "mandrill" });
  sender = createSender({
    network: LOCAL_NETWORK,
    context: kit.context,
    api: { baseUrl: sim.apiUrl, ...FAST_API },
    smtp: { route: simulatorRoute(sim) },
    unsubscribe: { secret: SECRET, publicUrl: LINKS_URL, mailto: MAILTO },
  });
  app = express();
  app.use(kit);
  app.use(mandrillUnsubscribe({ secret: SECRET, senderName: "Acme News" }));
});

afterEach(() => {
  sim.control.clearFaults();
  sim.control.clearRecords();
});

afterAll(async () => {
  await sender?.close();
  await sim?.close();
  await store?.close();
});

/** The link in an outbox message's List-Unsubscribe header, and its token. */
function linkOf(headers: Record<string, string> | undefined): { url: string; token: string } {
  const match = LIST_UNSUBSCRIBE.exec(headers?.["List-Unsubscribe"] ?? "");
  if (match === null)
    throw new Error(`unexpected List-Unsubscribe: ${JSON.stringify(headers?.["List-Unsubscribe"])}`);
  const url = match[0].slice(1, match[0].indexOf(">"));
  return { url, token: match[1] as string };
}

/** A token for `email` at `account`, as the sender makes them. */
function tokenFor(account: string, email: string, secret = SECRET): string {
  return signUnsubscribeToken(secret, {
    account,
    email,
    correlationId: null,
    iat: Math.floor(Date.now() / 1000),
  });
}

describe("one-click mode in sent mail", () => {
  it("gives each recipient their own message with List-Unsubscribe, List-Unsubscribe-Post and a footer", async () => {
    const alice = uniqueEmail("alice");
    const bob = uniqueEmail("bob");
    const result = await sender.send("news", {
      to: [alice, bob],
      subject: "News",
      html: "<p>Hello</p>",
      text: "Hello",
    });

    expect(result.recipients.map((r) => [r.email, r.status])).toEqual([
      [alice, "sent"],
      [bob, "sent"],
    ]);
    const out = sim.inspect.outbox();
    expect(out.map((m) => m.recipients.map((r) => r.email))).toEqual([[alice], [bob]]);
    const links = out.map((m) => {
      expect(m.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
      const link = linkOf(m.headers);
      expect(m.html).toContain(`<a href="${link.url}">`);
      expect(m.html?.startsWith("<p>Hello</p>")).toBe(true);
      expect(m.text).toContain(`Unsubscribe: ${link.url}`);
      return link;
    });
    expect(links[0]?.token).not.toBe(links[1]?.token);
    expect(verifyUnsubscribeToken(SECRET, links[0]?.token as string)).toMatchObject({
      account: "news",
      email: alice,
      correlationId: result.correlationId,
    });
    expect(verifyUnsubscribeToken(SECRET, links[1]?.token as string)).toMatchObject({
      account: "news",
      email: bob,
    });
  });

  it("adds the same headers to the message sent over SMTP", async () => {
    const carol = uniqueEmail("carol");
    await sender.send("news-smtp", { to: carol, subject: "News", text: "Hello" });
    const out = sim.inspect.lastMessage();
    expect(out?.transport).toBe("smtp");
    expect(out?.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
    expect(verifyUnsubscribeToken(SECRET, linkOf(out?.headers).token)).toMatchObject({
      account: "news-smtp",
      email: carol,
    });
  });

  it("does not mutate a frozen message while personalising it", async () => {
    const message = deepFreeze({
      to: [uniqueEmail("f1"), uniqueEmail("f2")],
      subject: "News",
      html: "<p>Hi</p>",
      text: "Hi",
      headers: { "X-Campaign": "spring" },
    });
    const copy = structuredClone(message);
    const result = await sender.send("news", message);
    expect(result.recipients.map((r) => r.status)).toEqual(["sent", "sent"]);
    expect(message).toEqual(copy);
    expect(sim.inspect.outbox().every((m) => m.headers["X-Campaign"] === "spring")).toBe(true);
  });

  it("keeps the caller's own List-Unsubscribe and sends one message", async () => {
    const to = [uniqueEmail("c1"), uniqueEmail("c2")];
    const own = "<https://app.example.com/prefs>";
    await sender.send("news", { to, text: "Hello", headers: { "List-Unsubscribe": own } });
    const out = sim.inspect.outbox();
    expect(out).toHaveLength(1);
    expect(out[0]?.headers["List-Unsubscribe"]).toBe(own);
  });

  it("adds nothing for an account that leaves unsubscribes to Mandrill", async () => {
    await sender.send("plain", { to: [uniqueEmail("p1"), uniqueEmail("p2")], text: "Hello" });
    const out = sim.inspect.outbox();
    expect(out).toHaveLength(1);
    expect(out[0]?.headers["List-Unsubscribe"]).toBeUndefined();
    expect(out[0]?.text).toBe("Hello");
  });
});

describe("mandrillUnsubscribe()", () => {
  it("shows a confirmation page with a button on GET, and unsubscribes nobody", async () => {
    const dave = uniqueEmail("dave");
    await sender.send("news", { to: dave, text: "Hello" });
    const { token } = linkOf(sim.inspect.lastMessage()?.headers);

    const page = await request(app).get(`/unsubscribe/mandrill/${token}`);

    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
    expect(page.text).toContain(dave);
    expect(page.text).toMatch(/<form method="post"/);
    expect(page.text).toMatch(/<button[^>]*>Unsubscribe<\/button>/);
    expect(await store.suppressions.get("news", dave)).toBeUndefined();
  });

  it("suppresses the address for the link's account on the one-click POST (reason unsub, source one-click)", async () => {
    const erin = uniqueEmail("erin");
    const first = await sender.send("news", { to: erin, text: "Hello" });
    const { token } = linkOf(sim.inspect.lastMessage()?.headers);

    const res = await request(app)
      .post(`/unsubscribe/mandrill/${token}`)
      .type("form")
      .send("List-Unsubscribe=One-Click");

    expect(res.status).toBe(200);
    expect(await store.suppressions.get("news", erin)).toMatchObject({
      reason: "unsub",
      source: "one-click",
      liftedAt: null,
    });
    expect((await store.suppressions.get("news", erin))?.detail).toContain(first.correlationId);
    expect(await store.suppressions.get("other", erin)).toBeUndefined();

    sim.control.clearRecords();
    const again = await sender.send("news", { to: erin, text: "Hello again" });
    expect(again.recipients[0]).toMatchObject({ status: "suppressed", rejectReason: "unsub" });
    const elsewhere = await sender.send("other", { to: erin, text: "Other list" });
    expect(elsewhere.recipients[0]?.status).toBe("sent");
    expect(sim.inspect.outbox().flatMap((m) => m.recipients.map((r) => r.email))).toEqual([erin]);
  });

  describe("refuses links it did not sign (400, nothing suppressed)", () => {
    const frank = "frank@example.org";
    const valid = tokenFor("news", frank);
    const dot = valid.indexOf(".");
    const flip = (s: string, i: number) => `${s.slice(0, i)}${s[i] === "A" ? "B" : "A"}${s.slice(i + 1)}`;
    const forged = `${Buffer.from(JSON.stringify(["news", frank, null, 0])).toString("base64url")}.${"A".repeat(32)}`;
    const otherAccount = JSON.stringify(["other", frank, null, 0]);
    const cases: Array<[string, string]> = [
      ["a forged token", forged],
      ["an altered payload", flip(valid, 3)],
      ["an altered signature", flip(valid, dot + 5)],
      [
        "a payload moved to another account",
        `${Buffer.from(otherAccount).toString("base64url")}${valid.slice(dot)}`,
      ],
      ["a token signed with another secret", tokenFor("news", frank, OTHER_SECRET)],
      ["a token cut short", valid.slice(0, -1)],
      ["garbage", "not-a-token"],
    ];

    it.each(cases)("%s", async (_name, token) => {
      const before = await store.suppressions.count("news");
      const post = await request(app)
        .post(`/unsubscribe/mandrill/${encodeURIComponent(token)}`)
        .type("form")
        .send("List-Unsubscribe=One-Click");
      expect(post.status).toBe(400);
      const get = await request(app).get(`/unsubscribe/mandrill/${encodeURIComponent(token)}`);
      expect(get.status).toBe(400);
      expect(get.text).not.toContain("<form");
      expect(await store.suppressions.count("news")).toBe(before);
      expect(await store.suppressions.count("other")).toBe(0);
    });
  });
});

describe("the link's age (issued-at window)", () => {
  const DAY = 24 * 60 * 60 * 1000;

  /** A sender and an unsubscribe router that read the time from `clock`. */
  function withClock(clock: ManualClock, maxAgeMs?: number) {
    const s = createSender({
      context: kit.context,
      network: LOCAL_NETWORK,
      api: { baseUrl: sim.apiUrl, ...FAST_API },
      unsubscribe: { secret: SECRET, publicUrl: LINKS_URL, mailto: MAILTO },
      clock,
    });
    const router = express();
    router.use(kit);
    router.use(
      mandrillUnsubscribe({ secret: SECRET, clock, ...(maxAgeMs === undefined ? {} : { maxAgeMs }) }),
    );
    return { sender: s, app: router };
  }

  it("keeps a link working for a year, then answers 410 Link expired and suppresses nobody", async () => {
    const clock = manualClock();
    const { sender: s, app: site } = withClock(clock);
    const gina = uniqueEmail("gina");
    try {
      await s.send("news", { to: gina, text: "Hello" });
      const { token } = linkOf(sim.inspect.lastMessage()?.headers);

      clock.advance(364 * DAY);
      expect((await request(site).get(`/unsubscribe/mandrill/${token}`)).status).toBe(200);

      clock.advance(2 * DAY);
      const get = await request(site).get(`/unsubscribe/mandrill/${token}`);
      expect(get.status).toBe(410);
      expect(get.text).toContain("expired");
      expect(get.text).not.toContain("<form");
      const post = await request(site)
        .post(`/unsubscribe/mandrill/${token}`)
        .type("form")
        .send("List-Unsubscribe=One-Click");
      expect(post.status).toBe(410);
      expect(await store.suppressions.get("news", gina)).toBeUndefined();
    } finally {
      await s.close();
    }
  });

  it("honours a shorter maxAgeMs", async () => {
    const clock = manualClock();
    const { sender: s, app: site } = withClock(clock, 60 * 60 * 1000);
    try {
      const hal = uniqueEmail("hal");
      await s.send("news", { to: hal, text: "Hello" });
      const { token } = linkOf(sim.inspect.lastMessage()?.headers);
      clock.advance(59 * 60 * 1000);
      expect((await request(site).get(`/unsubscribe/mandrill/${token}`)).status).toBe(200);
      clock.advance(2 * 60 * 1000);
      expect((await request(site).get(`/unsubscribe/mandrill/${token}`)).status).toBe(410);
      expect(() => verifyUnsubscribeToken(SECRET, token, { maxAgeMs: 60 * 60 * 1000, clock })).toThrow(
        expect.objectContaining({ code: "ERR_MK_UNSUBSCRIBE_EXPIRED" }),
      );
    } finally {
      await s.close();
    }
  });

  it("refuses a link issued in the future (beyond clock skew) as not valid", () => {
    const clock = manualClock();
    const token = signUnsubscribeToken(SECRET, {
      account: "news",
      email: "ida@example.org",
      correlationId: null,
      iat: Math.floor(clock.now() / 1000) + 2 * 24 * 60 * 60,
    });
    expect(() => verifyUnsubscribeToken(SECRET, token, { clock })).toThrow(
      expect.objectContaining({ code: "ERR_MK_UNSUBSCRIBE_INVALID" }),
    );
  });

  it.each([0, -1, Number.NaN, "1y"])("refuses maxAgeMs %s when the router is created", (maxAgeMs) => {
    expect(() => mandrillUnsubscribe({ secret: SECRET, maxAgeMs: maxAgeMs as number })).toThrow(/maxAgeMs/);
  });
});

describe("server-side failures reach the host's error handler (next(err))", () => {
  /** A host app whose error handler records what it was given. */
  function hostWith(router: express.Router, seen: unknown[], before?: express.RequestHandler) {
    const host = express();
    if (before !== undefined) host.use(before);
    host.use(router);
    host.use(((error, _req, res, _next) => {
      seen.push(error);
      res.status(503).send("host error page");
    }) as express.ErrorRequestHandler);
    return host;
  }

  it("passes a failing store's error to next, and the host answers", async () => {
    const failing = {
      ...store,
      suppressions: {
        ...store.suppressions,
        add: async () => {
          throw new Error("database is locked");
        },
      },
    } as Store;
    const seen: unknown[] = [];
    const host = hostWith(mandrillUnsubscribe({ secret: SECRET, store: failing }), seen);
    const res = await request(host)
      .post(`/unsubscribe/mandrill/${tokenFor("news", "jane@example.org")}`)
      .type("form")
      .send("List-Unsubscribe=One-Click");
    expect(res.status).toBe(503);
    expect(res.text).toBe("host error page");
    expect(seen).toEqual([expect.objectContaining({ message: "database is locked" })]);
  });

  it("passes ERR_MK_KIT_NOT_MOUNTED to next when there is no store", async () => {
    const seen: unknown[] = [];
    const host = hostWith(mandrillUnsubscribe({ secret: SECRET }), seen);
    const res = await request(host)
      .post(`/unsubscribe/mandrill/${tokenFor("news", "jane@example.org")}`)
      .type("form")
      .send("List-Unsubscribe=One-Click");
    expect(res.status).toBe(503);
    expect(seen).toEqual([expect.objectContaining({ code: "ERR_MK_KIT_NOT_MOUNTED" })]);
  });
});

describe("unsubscribe tokens", () => {
  const accountId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$/).filter((id) => isAccountId(id));
  const email = fc.emailAddress().filter((e) => normalizeEmail(e) !== undefined);
  const claim = fc.record({
    account: accountId,
    email,
    correlationId: fc.option(fc.uuid(), { nil: null }),
    iat: fc.integer({ min: 0, max: 2 ** 31 }),
  });

  it("round-trips any account and address", () => {
    fc.assert(
      fc.property(claim, (c) => {
        const token = signUnsubscribeToken(SECRET, c);
        expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
        // Verified when it was issued: the expiry window has its own tests.
        const atIssue = { clock: { now: () => c.iat * 1000 } };
        expect(verifyUnsubscribeToken(SECRET, token, atIssue)).toEqual({
          ...c,
          email: normalizeEmail(c.email),
        });
      }),
    );
  });

  it("refuses any token with a single character changed", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    fc.assert(
      fc.property(claim, fc.nat(), fc.constantFrom(...alphabet), (c, at, replacement) => {
        const token = signUnsubscribeToken(SECRET, c);
        const i = at % token.length;
        fc.pre(token[i] !== replacement);
        const altered = `${token.slice(0, i)}${replacement}${token.slice(i + 1)}`;
        expect(() => verifyUnsubscribeToken(SECRET, altered)).toThrow(
          expect.objectContaining({ code: "ERR_MK_UNSUBSCRIBE_INVALID" }),
        );
      }),
    );
  });

  it("refuses a token signed with any other secret", () => {
    fc.assert(
      fc.property(claim, fc.string({ minLength: 32, maxLength: 64 }), (c, secret) => {
        fc.pre(secret !== SECRET);
        expect(() => verifyUnsubscribeToken(SECRET, signUnsubscribeToken(secret, c))).toThrow();
      }),
    );
  });
});
