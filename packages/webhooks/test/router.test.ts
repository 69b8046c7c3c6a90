import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryStore, type Store } from "@mandrill-kit/core";
import { eventKey, parseMandrillEvents } from "@mandrill-kit/core/plugin";
import { eventually } from "@mandrill-kit/core/testing";
import { addKey, type MandrillKitMiddleware, mandrillKit } from "@mandrill-kit/credentials";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import {
  type MandrillWebhooks,
  type MandrillWebhooksOptions,
  mandrillWebhooks,
} from "@mandrill-kit/webhooks";
import {
  encodeForm,
  eventFixtures,
  mandrillJson,
  signWebhook,
  TEST_WEBHOOK_KEY,
} from "@mandrill-kit/webhooks/testing";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import request from "supertest";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { withInbox } from "./helpers.js";

const PUBLIC_URL = "https://hooks.example.com";
const ACME_KEY = "whk-acme-0123456789abcdef";
const GLOBEX_KEY = "whk-globex-0123456789abcdef";
const SETTINGS = { username: "u@x.com", apiKey: "md-0123456789abcdefghij", fromEmail: "a@x.com" };
const FORM = "application/x-www-form-urlencoded";

const tmp = mkdtempSync(join(tmpdir(), "mk-webhooks-router-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const openWebhooks: MandrillWebhooks[] = [];
const openStores: Store[] = [];
afterEach(async () => {
  for (const webhooks of openWebhooks.splice(0)) await webhooks.close();
  for (const store of openStores.splice(0)) await store.close();
});

function tracked(webhooks: MandrillWebhooks): MandrillWebhooks {
  openWebhooks.push(webhooks);
  return webhooks;
}

function memoryStore(): Store {
  const store = createMemoryStore();
  openStores.push(store);
  return store;
}

interface Harness {
  app: Express;
  kit: MandrillKitMiddleware;
  store: Store;
  webhooks: MandrillWebhooks;
}

/** A host app: `app.use(kit)` then zero-argument (or given) `mandrillWebhooks()`. */
async function kitApp(
  options: {
    store?: Store;
    webhookPath?: string;
    webhooks?: MandrillWebhooksOptions;
    /** Account → webhook key (`null`: settings saved without a key). */
    accounts?: Record<string, string | null>;
    /** Host middleware mounted before the kit (global body parsers…). */
    before?: (app: Express) => void;
  } = {},
): Promise<Harness> {
  const store = options.store ?? memoryStore();
  const kit = mandrillKit({
    store,
    keys: addKey(undefined, "k1"),
    publicUrl: PUBLIC_URL,
    ...(options.webhookPath === undefined ? {} : { webhookPath: options.webhookPath }),
  });
  for (const [account, key] of Object.entries(options.accounts ?? { acme: ACME_KEY })) {
    await kit.credentials.save(account, { ...SETTINGS, ...(key === null ? {} : { webhookKey: key }) });
  }
  const app = express();
  options.before?.(app);
  app.use(kit);
  const webhooks = tracked(
    options.webhooks === undefined ? mandrillWebhooks() : mandrillWebhooks(options.webhooks),
  );
  app.use(webhooks);
  webhooks.start(kit.context);
  return { app, kit, store, webhooks };
}

/** POSTs `events` to an account's webhook path, signed as Mandrill would (its Callback URL and key by default). */
function postSigned(
  h: Harness,
  account: string,
  events: unknown[] | string,
  options: { key?: string; url?: string; path?: string; contentType?: string } = {},
) {
  const signed = signWebhook({
    key: options.key ?? ACME_KEY,
    url: options.url ?? h.kit.credentials.callbackUrl(account),
    events,
  });
  return request(h.app)
    .post(options.path ?? `/webhooks/mandrill/${account}`)
    .set({
      ...signed.headers,
      ...(options.contentType === undefined ? {} : { "content-type": options.contentType }),
    })
    .send(signed.body);
}

function keysOf(events: unknown[]): string[] {
  const parsed = parseMandrillEvents(mandrillJson(events));
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.events.map(eventKey);
}

async function total(store: Store, account: string): Promise<number> {
  return (await store.inbox.stats(account)).total;
}

/** A POST over a real socket, so the body can be sent chunked (no Content-Length). */
async function rawPost(
  app: Express,
  path: string,
  headers: Record<string, string>,
  chunks: string[],
): Promise<{ status: number; body: string }> {
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, path, method: "POST", headers }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe("URL validation (HEAD, GET and the empty POST)", () => {
  it("answers HEAD and GET with 200 without any key, also for an account that does not exist", async () => {
    const h = await kitApp();
    for (const account of ["acme", "nobody-yet"]) {
      expect((await request(h.app).head(`/webhooks/mandrill/${account}`)).status).toBe(200);
      expect((await request(h.app).get(`/webhooks/mandrill/${account}`)).status).toBe(200);
    }
  });

  it("accepts the validation POST of [] signed with test-webhook and stores nothing", async () => {
    const h = await kitApp();
    const response = await postSigned(h, "acme", [], { key: TEST_WEBHOOK_KEY });
    expect(response.status).toBe(200);
    expect(await total(h.store, "acme")).toBe(0);
    expect((await h.store.inbox.listQuarantined("acme")).items).toHaveLength(0);
  });

  it("accepts the validation POST for an account that has no webhook key yet", async () => {
    const h = await kitApp({ accounts: { acme: ACME_KEY, newco: null } });
    for (const account of ["newco", "not-saved-yet"]) {
      const response = await postSigned(h, account, [], { key: TEST_WEBHOOK_KEY });
      expect(response.status, account).toBe(200);
      expect(await total(h.store, account)).toBe(0);
    }
  });

  it("refuses [] signed with a key that is neither test-webhook nor the account's", async () => {
    const h = await kitApp();
    const response = await postSigned(h, "acme", [], { key: "whk-not-this-one-000000" });
    expect(response.status).toBe(401);
    expect(await total(h.store, "acme")).toBe(0);
  });
});

describe("a signed batch", () => {
  it("answers 200 with counts, stores every event under its type and key, and applies the suppression policy", async () => {
    const h = await kitApp();
    await h.store.suppressions.add({
      account: "acme",
      email: "allowed@example.com",
      reason: "custom",
      source: "manual",
      detail: "added by an admin",
    });
    const events = [
      eventFixtures.hard_bounce({ email: "bounced@example.com" }),
      eventFixtures.spam({ email: "complained@example.com" }),
      eventFixtures.unsub({ email: "left@example.com" }),
      eventFixtures.send({ email: "sent@example.com" }),
      eventFixtures.open({ email: "opened@example.com" }),
      eventFixtures.reject({ email: "rejected@example.com", reason: "hard-bounce" }),
      eventFixtures.reject({ email: "unsigned@example.com", reason: "unsigned" }),
      eventFixtures.blacklist({ email: "denied@example.com", reason: "spam" }),
      eventFixtures.whitelist({ email: "allowed@example.com" }),
    ];
    const response = await postSigned(h, "acme", events);

    expect(response.status).toBe(200);
    expect(response.type).toBe("application/json");
    expect(response.body).toEqual({ received: 9, new: 9, duplicates: 0 });

    const types = [
      "hard_bounce",
      "spam",
      "unsub",
      "send",
      "open",
      "reject",
      "reject",
      "blacklist",
      "whitelist",
    ];
    const keys = keysOf(events);
    for (const [i, key] of keys.entries()) {
      const stored = await h.store.inbox.get("acme", key);
      expect(stored?.type, key).toBe(types[i]);
      expect(stored?.account).toBe("acme");
    }
    expect(await total(h.store, "acme")).toBe(9);

    const all = events.map((e) =>
      "msg" in e ? e.msg.email : "reject" in e ? e.reject.email : "entry" in e ? e.entry.email : "",
    );
    const suppressed = (await h.store.suppressions.check("acme", all)).map((s) => s.email).sort();
    expect(suppressed).toEqual([
      "bounced@example.com",
      "complained@example.com",
      "denied@example.com",
      "left@example.com",
      "rejected@example.com",
    ]);
    expect(await h.store.suppressions.get("acme", "bounced@example.com")).toMatchObject({
      reason: "hard-bounce",
      source: "webhook",
      expiresAt: null,
    });
    expect(await h.store.suppressions.get("acme", "complained@example.com")).toMatchObject({
      reason: "spam",
    });
    expect(await h.store.suppressions.get("acme", "left@example.com")).toMatchObject({ reason: "unsub" });
    expect(await h.store.suppressions.get("acme", "rejected@example.com")).toMatchObject({
      reason: "hard-bounce",
      source: "webhook",
    });
    expect(await h.store.suppressions.get("acme", "denied@example.com")).toMatchObject({
      reason: "spam",
      source: "sync",
    });
    expect((await h.store.suppressions.get("acme", "allowed@example.com"))?.liftedAt).not.toBeNull();
  });

  it("suppresses a soft-bouncing address only after the third soft bounce within the window", async () => {
    const h = await kitApp();
    const email = "full@example.com";
    // Recent event times: a soft-bounce suppression lasts 7 days from the third bounce.
    const now = Math.floor(Date.now() / 1000);
    const first = [eventFixtures.soft_bounce({ email, ts: now - 300 })];
    expect((await postSigned(h, "acme", first)).status).toBe(200);
    expect(await h.store.suppressions.check("acme", [email])).toHaveLength(0);
    const more = [
      eventFixtures.soft_bounce({ email, ts: now - 200 }),
      eventFixtures.soft_bounce({ email, ts: now - 100 }),
    ];
    expect((await postSigned(h, "acme", more)).status).toBe(200);
    expect(await h.store.suppressions.check("acme", [email])).toMatchObject([{ reason: "soft-bounce" }]);
  });

  it("changes nothing when Mandrill redelivers the same batch, even after a suppression was lifted", async () => {
    const h = await kitApp();
    const events = [
      eventFixtures.hard_bounce({ email: "bounced@example.com" }),
      eventFixtures.send({ email: "sent@example.com" }),
    ];
    const signed = signWebhook({ key: ACME_KEY, url: h.kit.credentials.callbackUrl("acme"), events });
    const post = () => request(h.app).post("/webhooks/mandrill/acme").set(signed.headers).send(signed.body);

    expect((await post()).body).toEqual({ received: 2, new: 2, duplicates: 0 });
    expect(
      await h.store.suppressions.remove("acme", "bounced@example.com", {
        by: "admin",
        reason: "fixed mailbox",
      }),
    ).toBe(true);

    const again = await post();
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ received: 2, new: 0, duplicates: 2 });
    expect(await total(h.store, "acme")).toBe(2);
    expect(await h.store.suppressions.check("acme", ["bounced@example.com"])).toHaveLength(0);
    expect((await h.store.suppressions.get("acme", "bounced@example.com"))?.liftedBy).toBe("admin");
  });

  it.each([
    ["memory", () => memoryStore()],
    [
      "sqlite",
      () => {
        const store = openSqliteStore({
          filename: join(tmp, `concurrent-${Date.now()}-${Math.random()}.db`),
        });
        openStores.push(store);
        return store;
      },
    ],
  ])(
    "stores one row and runs handlers once per event when one batch is posted twice at the same time (%s store)",
    async (_name, makeStore) => {
      const h = await kitApp({ store: makeStore(), webhooks: { pollIntervalMs: 20 } });
      const runs = new Map<string, number>();
      h.webhooks.onAny((_event, context) => {
        runs.set(context.eventKey, (runs.get(context.eventKey) ?? 0) + 1);
      });
      const events = [
        eventFixtures.hard_bounce({ email: "bounced@example.com" }),
        ...Array.from({ length: 20 }, (_, i) => eventFixtures.send({ email: `r${i}@example.com` })),
      ];
      const signed = signWebhook({ key: ACME_KEY, url: h.kit.credentials.callbackUrl("acme"), events });
      const post = () => request(h.app).post("/webhooks/mandrill/acme").set(signed.headers).send(signed.body);

      const [a, b] = await Promise.all([post(), post()]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(a.body.new + b.body.new).toBe(21);
      expect(a.body.duplicates + b.body.duplicates).toBe(21);
      expect(await total(h.store, "acme")).toBe(21);

      await eventually(async () => (await h.store.inbox.stats("acme")).done === 21);
      await h.webhooks.runDue();
      expect([...runs.keys()].sort()).toEqual(keysOf(events).sort());
      expect([...runs.values()].every((n) => n === 1)).toBe(true);
      expect(await h.store.suppressions.check("acme", ["bounced@example.com"])).toHaveLength(1);
    },
  );
});

describe("reading the body", () => {
  it("answers 415 to a content type other than a form", async () => {
    const h = await kitApp();
    const json = await request(h.app)
      .post("/webhooks/mandrill/acme")
      .set("content-type", "application/json")
      .send(JSON.stringify({ mandrill_events: "[]" }));
    expect(json.status).toBe(415);
    const none = await request(h.app)
      .post("/webhooks/mandrill/acme")
      .send(Buffer.from("mandrill_events=%5B%5D"));
    expect(none.status).toBe(415);
  });

  it("answers 415 to a form declaring a charset other than UTF-8, and accepts charset=utf-8", async () => {
    const h = await kitApp();
    const events = [eventFixtures.send()];
    const latin = await postSigned(h, "acme", events, { contentType: `${FORM}; charset=iso-8859-1` });
    expect(latin.status).toBe(415);
    expect(await total(h.store, "acme")).toBe(0);
    const utf8 = await postSigned(h, "acme", events, { contentType: `${FORM}; charset=UTF-8` });
    expect(utf8.status).toBe(200);
  });

  it("answers 413 to a body over bodyLimitBytes announced by Content-Length", async () => {
    const h = await kitApp({ webhooks: { bodyLimitBytes: 2048 } });
    const events = Array.from({ length: 10 }, () => eventFixtures.send());
    const response = await postSigned(h, "acme", events);
    expect(response.status).toBe(413);
    expect(await total(h.store, "acme")).toBe(0);
    const small = await postSigned(h, "acme", [eventFixtures.send()]);
    expect(small.status).toBe(200);
  });

  it("answers 413 to a chunked body (no Content-Length) that grows over bodyLimitBytes", async () => {
    const h = await kitApp({ webhooks: { bodyLimitBytes: 2048 } });
    const events = Array.from({ length: 10 }, () => eventFixtures.send());
    const signed = signWebhook({ key: ACME_KEY, url: h.kit.credentials.callbackUrl("acme"), events });
    expect(signed.body.length).toBeGreaterThan(2048);
    const chunks = signed.body.match(/[\s\S]{1,500}/g) ?? [];
    const response = await rawPost(h.app, "/webhooks/mandrill/acme", signed.headers, chunks);
    expect(response.status).toBe(413);
    expect(await total(h.store, "acme")).toBe(0);

    const small = signWebhook({
      key: ACME_KEY,
      url: h.kit.credentials.callbackUrl("acme"),
      events: [eventFixtures.send()],
    });
    const ok = await rawPost(h.app, "/webhooks/mandrill/acme", small.headers, [
      small.body.slice(0, 100),
      small.body.slice(100),
    ]);
    expect(ok.status).toBe(200);
  });

  it("answers 400 to a form that repeats mandrill_events, even when one copy is correctly signed", async () => {
    const h = await kitApp();
    const signed = signWebhook({
      key: ACME_KEY,
      url: h.kit.credentials.callbackUrl("acme"),
      events: [eventFixtures.hard_bounce()],
    });
    const response = await request(h.app)
      .post("/webhooks/mandrill/acme")
      .set(signed.headers)
      .send(`${signed.body}&${encodeForm({ mandrill_events: "[]" })}`);
    expect(response.status).toBe(400);
    expect(await total(h.store, "acme")).toBe(0);
  });

  it("answers 400 to a form without mandrill_events", async () => {
    const h = await kitApp();
    const response = await request(h.app).post("/webhooks/mandrill/acme").type("form").send("events=%5B%5D");
    expect(response.status).toBe(400);
    expect(response.text).toMatch(/mandrill_events/);
  });

  it("answers 400 to a malformed percent-escape", async () => {
    const h = await kitApp();
    for (const body of ["mandrill_events=%5B%5", "mandrill_events=%ZZ", "mandrill_events=%C3%28"]) {
      const response = await request(h.app).post("/webhooks/mandrill/acme").type("form").send(body);
      expect(response.status, body).toBe(400);
    }
    expect(await total(h.store, "acme")).toBe(0);
  });
});

describe("signature", () => {
  it("gives a missing header, a bad signature, an unknown account, an invalid account id and an account without a key the same 401", async () => {
    const h = await kitApp({ accounts: { acme: ACME_KEY, nokey: null } });
    const events = [eventFixtures.hard_bounce({ email: "bounced@example.com" })];
    const signed = signWebhook({ key: ACME_KEY, url: h.kit.credentials.callbackUrl("acme"), events });
    const { "x-mandrill-signature": _omitted, ...unsigned } = signed.headers;
    const responses = [
      await request(h.app).post("/webhooks/mandrill/acme").set(unsigned).send(signed.body),
      await postSigned(h, "acme", events, { key: "whk-wrong-key-0000000000" }),
      await postSigned(h, "ghost", events),
      await postSigned(h, "a..b", events, { url: `${PUBLIC_URL}/webhooks/mandrill/a..b` }),
      await postSigned(h, "-dash", events, { url: `${PUBLIC_URL}/webhooks/mandrill/-dash` }),
      await postSigned(h, "nokey", events),
    ];
    const [first] = responses;
    for (const [i, response] of responses.entries()) {
      expect(response.status, `case ${i}`).toBe(401);
      expect(response.text, `case ${i}`).toBe(first?.text);
      expect(response.headers["content-type"], `case ${i}`).toBe(first?.headers["content-type"]);
    }
    for (const account of ["acme", "ghost", "nokey"]) expect(await total(h.store, account)).toBe(0);
    expect(await h.store.suppressions.check("acme", ["bounced@example.com"])).toHaveLength(0);
  });

  it("refuses account A's signed batch posted to account B's URL, even when both share one key", async () => {
    const h = await kitApp({ accounts: { acme: ACME_KEY, globex: GLOBEX_KEY, twin: ACME_KEY } });
    const events = [eventFixtures.unsub({ email: "left@example.com" })];
    const signed = signWebhook({ key: ACME_KEY, url: h.kit.credentials.callbackUrl("acme"), events });
    for (const account of ["globex", "twin"]) {
      const response = await request(h.app)
        .post(`/webhooks/mandrill/${account}`)
        .set(signed.headers)
        .send(signed.body);
      expect(response.status, account).toBe(401);
      expect(await total(h.store, account)).toBe(0);
    }
    const own = await request(h.app).post("/webhooks/mandrill/acme").set(signed.headers).send(signed.body);
    expect(own.status).toBe(200);
  });

  it("accepts batches signed with the previous key after a new key was saved, until it is removed", async () => {
    const h = await kitApp();
    const newKey = "whk-acme-rotated-9876543210";
    await h.kit.credentials.save("acme", { webhookKey: newKey });

    const old = await postSigned(h, "acme", [eventFixtures.send()], { key: ACME_KEY });
    expect(old.status).toBe(200);
    expect(old.body.new).toBe(1);
    const current = await postSigned(h, "acme", [eventFixtures.send()], { key: newKey });
    expect(current.status).toBe(200);

    const view = await h.kit.credentials.describe("acme");
    const previous = view?.webhookKeys.find((k) => !k.current);
    expect(previous).toBeDefined();
    await h.kit.credentials.save("acme", { removeWebhookKeys: [previous?.id ?? ""] });
    expect((await postSigned(h, "acme", [eventFixtures.send()], { key: ACME_KEY })).status).toBe(401);
  });

  it.each([
    ["not JSON", "this is {not json"],
    ["JSON but not an array", '{"event":"send","_id":"abc"}'],
  ])("quarantines and acknowledges a correctly signed body that is %s", async (_what, body) => {
    const h = await kitApp();
    const response = await postSigned(h, "acme", body);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ quarantined: true });
    const quarantined = await h.store.inbox.listQuarantined("acme");
    expect(quarantined.items).toHaveLength(1);
    expect(quarantined.items[0]?.body).toBe(body);
    expect(quarantined.items[0]?.error).not.toBe("");
    expect(await total(h.store, "acme")).toBe(0);
  });

  it("does not quarantine an unparseable body whose signature is wrong", async () => {
    const h = await kitApp();
    const response = await postSigned(h, "acme", "this is {not json", { key: "whk-wrong-key-0000000000" });
    expect(response.status).toBe(401);
    expect((await h.store.inbox.listQuarantined("acme")).items).toHaveLength(0);
  });
});

describe("host body parsers mounted before the router", () => {
  const parsers: [string, (app: Express) => void][] = [
    [
      "express.urlencoded({ extended: true }) and express.json()",
      (app) => {
        app.use(express.urlencoded({ extended: true }));
        app.use(express.json());
      },
    ],
    ["express.urlencoded({ extended: false })", (app) => app.use(express.urlencoded({ extended: false }))],
    ["express.raw() for every type", (app) => app.use(express.raw({ type: () => true }))],
  ];

  it.each(parsers)("still verifies and stores batches after %s", async (_name, before) => {
    const h = await kitApp({ before });
    const events = [
      eventFixtures.hard_bounce({ email: "bounced@example.com" }),
      eventFixtures.click({ email: "clicked@example.com" }),
    ];
    const ok = await postSigned(h, "acme", events);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ received: 2, new: 2, duplicates: 0 });
    expect(await h.store.suppressions.check("acme", ["bounced@example.com"])).toHaveLength(1);

    const forged = await postSigned(h, "acme", [eventFixtures.unsub({ email: "victim@example.com" })], {
      key: "whk-forged-0000000000",
    });
    expect(forged.status).toBe(401);
    expect(await h.store.suppressions.check("acme", ["victim@example.com"])).toHaveLength(0);

    const validation = await postSigned(h, "acme", [], { key: TEST_WEBHOOK_KEY });
    expect(validation.status).toBe(200);
  });

  it.each(parsers)("answers 400 to repeated mandrill_events fields after %s", async (_name, before) => {
    const h = await kitApp({ before });
    const signed = signWebhook({
      key: ACME_KEY,
      url: h.kit.credentials.callbackUrl("acme"),
      events: [eventFixtures.hard_bounce()],
    });
    const response = await request(h.app)
      .post("/webhooks/mandrill/acme")
      .set(signed.headers)
      .send(`${signed.body}&${signed.body}`);
    expect(response.status).toBe(400);
    expect(await total(h.store, "acme")).toBe(0);
  });

  it("answers 400 to a nested mandrill_events field after express.urlencoded({ extended: true })", async () => {
    const h = await kitApp({ before: (app) => app.use(express.urlencoded({ extended: true })) });
    const response = await request(h.app)
      .post("/webhooks/mandrill/acme")
      .type("form")
      .set("x-mandrill-signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
      .send("mandrill_events[event]=send");
    expect(response.status).toBe(400);
  });
});

describe("diagnosing a signature mismatch", () => {
  const callback = `${PUBLIC_URL}/webhooks/mandrill/acme`;
  it.each<[string, { key?: string; url?: string }, RegExp]>([
    [
      "http instead of https",
      { url: callback.replace("https://", "http://") },
      /http:\/\/ instead of https:\/\//,
    ],
    ["a trailing slash", { url: `${callback}/` }, /trailing slash/],
    ["the test-webhook key on a non-empty batch", { key: TEST_WEBHOOK_KEY }, /test-webhook/],
    ["an unknown key", { key: "whk-someone-elses-key-4242" }, /none of the saved webhook keys/],
  ])("records a diagnosis naming %s, without the webhook key", async (_what, sign, finding) => {
    const h = await kitApp();
    const response = await postSigned(h, "acme", [eventFixtures.send()], sign);
    expect(response.status).toBe(401);
    const [diagnosis] = h.webhooks.diagnoses("acme");
    expect(diagnosis?.finding).toMatch(finding);
    expect(diagnosis?.account).toBe("acme");
    expect(diagnosis?.callbackUrl).toBe(callback);
    expect(diagnosis?.advice).not.toBe("");
    const text = JSON.stringify(h.webhooks.diagnoses("acme"));
    expect(text).not.toContain(ACME_KEY);
    expect(text).not.toContain(ACME_KEY.slice(-8));
    if (sign.key !== undefined && sign.key !== TEST_WEBHOOK_KEY) expect(text).not.toContain(sign.key);
  });

  it("keeps diagnoses per account, newest first", async () => {
    const h = await kitApp({ accounts: { acme: ACME_KEY, globex: GLOBEX_KEY } });
    await postSigned(h, "acme", [eventFixtures.send()], { url: `${callback}/` });
    await postSigned(h, "acme", [eventFixtures.send()], { key: TEST_WEBHOOK_KEY });
    const findings = h.webhooks.diagnoses("acme").map((d) => d.finding);
    expect(findings).toHaveLength(2);
    expect(findings[0]).toMatch(/test-webhook/);
    expect(findings[1]).toMatch(/trailing slash/);
    expect(h.webhooks.diagnoses("globex")).toEqual([]);
  });
});

describe("configuration forms", () => {
  it("honours a custom webhookPath given to mandrillKit", async () => {
    const h = await kitApp({ webhookPath: "/mandrill/:account/events" });
    expect(h.kit.credentials.callbackUrl("acme")).toBe(`${PUBLIC_URL}/mandrill/acme/events`);
    const response = await postSigned(h, "acme", [eventFixtures.send()], { path: "/mandrill/acme/events" });
    expect(response.status).toBe(200);
    expect((await request(h.app).head("/mandrill/acme/events")).status).toBe(200);
    expect((await request(h.app).head("/webhooks/mandrill/acme")).status).toBe(404);
  });

  it("works without the kit when given store, publicUrl and webhookKeys", async () => {
    const store = memoryStore();
    const webhooks = tracked(
      mandrillWebhooks({
        store,
        publicUrl: PUBLIC_URL,
        webhookKeys: (account) => (account === "acme" ? [ACME_KEY] : []),
      }),
    );
    const app = express();
    app.use(webhooks);
    const events = [eventFixtures.hard_bounce({ email: "bounced@example.com" })];
    const signed = signWebhook({ key: ACME_KEY, url: `${PUBLIC_URL}/webhooks/mandrill/acme`, events });
    const ok = await request(app).post("/webhooks/mandrill/acme").set(signed.headers).send(signed.body);
    expect(ok.status).toBe(200);
    expect(await total(store, "acme")).toBe(1);
    expect(await store.suppressions.check("acme", ["bounced@example.com"])).toHaveLength(1);

    const other = signWebhook({ key: ACME_KEY, url: `${PUBLIC_URL}/webhooks/mandrill/globex`, events });
    const refused = await request(app).post("/webhooks/mandrill/globex").set(other.headers).send(other.body);
    expect(refused.status).toBe(401);
    expect((await request(app).head("/webhooks/mandrill/globex")).status).toBe(200);
  });

  it("works in the single-account form with a fixed path and key", async () => {
    const store = memoryStore();
    const key = "whk-single-0123456789";
    const webhooks = tracked(
      mandrillWebhooks({ store, path: "/hooks/mandrill", publicUrl: PUBLIC_URL, key }),
    );
    const app = express();
    app.use(webhooks);
    const url = `${PUBLIC_URL}/hooks/mandrill`;

    expect((await request(app).head("/hooks/mandrill")).status).toBe(200);
    const check = signWebhook({ key: TEST_WEBHOOK_KEY, url, events: [] });
    expect((await request(app).post("/hooks/mandrill").set(check.headers).send(check.body)).status).toBe(200);

    const events = [eventFixtures.spam({ email: "complained@example.com" })];
    const signed = signWebhook({ key, url, events });
    const ok = await request(app).post("/hooks/mandrill").set(signed.headers).send(signed.body);
    expect(ok.status).toBe(200);
    expect(await total(store, "default")).toBe(1);
    expect(await store.suppressions.check("default", ["complained@example.com"])).toHaveLength(1);

    const wrong = signWebhook({ key: "whk-not-single-000000", url, events });
    expect((await request(app).post("/hooks/mandrill").set(wrong.headers).send(wrong.body)).status).toBe(401);
  });

  it("stores single-account events under the given account id", async () => {
    const store = memoryStore();
    const key = "whk-single-0123456789";
    const webhooks = tracked(
      mandrillWebhooks({ store, path: "/hooks/mandrill", publicUrl: PUBLIC_URL, key, account: "shop" }),
    );
    const app = express();
    app.use(webhooks);
    const signed = signWebhook({ key, url: `${PUBLIC_URL}/hooks/mandrill`, events: [eventFixtures.send()] });
    expect((await request(app).post("/hooks/mandrill").set(signed.headers).send(signed.body)).status).toBe(
      200,
    );
    expect(await total(store, "shop")).toBe(1);
  });

  it("rejects an unknown option with a did-you-mean suggestion", () => {
    expect(() => mandrillWebhooks({ bodyLimit: 4096 } as MandrillWebhooksOptions)).toThrow(
      /"bodyLimit".*Did you mean "bodyLimitBytes"/,
    );
    expect(() => mandrillWebhooks({ publicURL: PUBLIC_URL } as MandrillWebhooksOptions)).toThrow(
      expect.objectContaining({
        code: "ERR_MK_CONFIG_UNKNOWN_OPTION",
        message: expect.stringMatching(/"publicUrl"/),
      }),
    );
  });

  it("rejects the single-account form without publicUrl, naming what it needs", () => {
    expect(() => mandrillWebhooks({ store: memoryStore(), path: "/hooks/mandrill", key: "whk-k" })).toThrow(
      expect.objectContaining({ code: "ERR_MK_CONFIG_INVALID", message: expect.stringMatching(/publicUrl/) }),
    );
  });

  it("tells the factory was passed uncalled when it is given itself as options", () => {
    expect(() => mandrillWebhooks(mandrillWebhooks as unknown as MandrillWebhooksOptions)).toThrow(
      /without calling it.*app\.use\(mandrillWebhooks\(/,
    );
  });

  it("tells the developer to call the factory when mounted uncalled as app.use(mandrillWebhooks)", async () => {
    // Express calls it as (req, res, next): the options argument is the request object, not a function.
    const app = express();
    app.use(mandrillWebhooks as unknown as express.RequestHandler);
    const errors: unknown[] = [];
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      errors.push(error);
      res.status(500).end();
    });
    await request(app).post("/webhooks/mandrill/acme").type("form").send("mandrill_events=%5B%5D");
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toMatch(/without calling it.*app\.use\(mandrillWebhooks\(/);
  });

  it("answers 500 on the webhook path only, on every request, when neither the kit nor options are given", async () => {
    const app = express();
    app.use(tracked(mandrillWebhooks()));
    app.get("/health", (_req, res) => {
      res.send("ok");
    });
    const post = () =>
      request(app).post("/webhooks/mandrill/acme").type("form").send("mandrill_events=%5B%5D");

    const first = await post();
    expect(first.status).toBe(500);
    expect(first.text).toMatch(/app\.use\(mandrillKit/);
    const health = await request(app).get("/health");
    expect(health.status).toBe(200);
    expect(health.text).toBe("ok");
    // Still misconfigured: the same loud 500, not a retryable 503 and not a 200 that validates the URL.
    const second = await post();
    expect(second.status).toBe(500);
    expect(second.text).toMatch(/app\.use\(mandrillKit/);
    expect((await request(app).head("/webhooks/mandrill/acme")).status).toBe(500);
    expect((await request(app).get("/health")).status).toBe(200);
  });
});

describe("store failures", () => {
  it("answers 503 and acknowledges nothing when the store fails during ingest, then accepts the redelivery", async () => {
    const store = memoryStore();
    let failing = true;
    const flaky = withInbox(store, {
      ingest: (batch) => (failing ? Promise.reject(new Error("disk I/O error")) : store.inbox.ingest(batch)),
    });
    const h = await kitApp({ store: flaky });
    const events = [eventFixtures.hard_bounce({ email: "bounced@example.com" }), eventFixtures.send()];
    const signed = signWebhook({ key: ACME_KEY, url: h.kit.credentials.callbackUrl("acme"), events });
    const post = () => request(h.app).post("/webhooks/mandrill/acme").set(signed.headers).send(signed.body);

    const failed = await post();
    expect(failed.status).toBe(503);
    expect(failed.text).not.toMatch(/disk I\/O/);
    expect(await total(store, "acme")).toBe(0);
    expect(await store.suppressions.check("acme", ["bounced@example.com"])).toHaveLength(0);

    failing = false;
    const redelivered = await post();
    expect(redelivered.status).toBe(200);
    expect(redelivered.body).toEqual({ received: 2, new: 2, duplicates: 0 });
  });
});
