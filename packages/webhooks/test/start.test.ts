import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryStore, type KitContext, type Store } from "@mandrill-kit/core";
import { eventKey, parseMandrillEvents } from "@mandrill-kit/core/plugin";
import { eventually, manualClock } from "@mandrill-kit/core/testing";
import { addKey, mandrillKit } from "@mandrill-kit/credentials";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import {
  createDispatcher,
  type Dispatcher,
  ingestEvents,
  type MandrillWebhooks,
  type MandrillWebhooksOptions,
  mandrillWebhooks,
} from "@mandrill-kit/webhooks";
import { eventFixtures, mandrillJson, signWebhook } from "@mandrill-kit/webhooks/testing";
import express, { type Express } from "express";
import request from "supertest";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { captureLogger, countingStore, withoutCompleteUnwanted } from "./helpers.js";

const PUBLIC_URL = "https://hooks.example.com";
const KEY = "whk-start-0123456789abcdef";
const tmp = mkdtempSync(join(tmpdir(), "mk-webhooks-start-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const closables: (MandrillWebhooks | Dispatcher | Store)[] = [];
afterEach(async () => {
  for (const c of closables.splice(0).reverse()) await c.close();
});
function track<T extends MandrillWebhooks | Dispatcher | Store>(c: T): T {
  closables.push(c);
  return c;
}

/** The explicit form: store, publicUrl and keys given, so no kit is needed. */
function explicitApp(store: Store, options: Partial<MandrillWebhooksOptions> = {}) {
  const webhooks = track(
    mandrillWebhooks({
      store,
      publicUrl: PUBLIC_URL,
      webhookKeys: () => [KEY],
      pollIntervalMs: 5,
      ...options,
    }),
  );
  const app = express();
  app.use(webhooks);
  return { app, webhooks };
}

function post(app: Express, events: unknown[]) {
  const signed = signWebhook({ key: KEY, url: `${PUBLIC_URL}/webhooks/mandrill/acme`, events });
  return request(app).post("/webhooks/mandrill/acme").set(signed.headers).send(signed.body);
}

function keysOf(events: unknown[]): string[] {
  const parsed = parseMandrillEvents(mandrillJson(events));
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.events.map(eventKey);
}

describe("dispatching starts when the host calls start()", () => {
  it("claims nothing before start(), warns once saying to call webhooks.start(kit.context), then runs what was stored", async () => {
    const store = countingStore(track(createMemoryStore()));
    const logger = captureLogger();
    const kit = mandrillKit({ store, keys: addKey(undefined, "k1"), publicUrl: PUBLIC_URL, logger });
    await kit.credentials.save("acme", {
      username: "u@x.com",
      apiKey: "md-0123456789abcdefghij",
      fromEmail: "a@x.com",
      webhookKey: KEY,
    });
    const webhooks = track(mandrillWebhooks({ pollIntervalMs: 5 }));
    const seen: string[] = [];
    webhooks.on("hard_bounce", (event) => {
      seen.push(event.email ?? "");
    });
    const app = express();
    app.use(kit);
    app.use(webhooks);

    expect((await post(app, [eventFixtures.hard_bounce({ email: "one@example.com" })])).status).toBe(200);
    expect((await post(app, [eventFixtures.hard_bounce({ email: "two@example.com" })])).status).toBe(200);
    expect(store.calls.claim).toBe(0);
    const warnings = logger.entries.filter((e) => e.level === "warn").map((e) => e.message);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/webhooks\.start\(kit\.context\)/);

    expect(webhooks.start(kit.context)).toBeUndefined();
    webhooks.start(kit.context);
    await eventually(() => seen.length === 2);
    expect(seen.sort()).toEqual(["one@example.com", "two@example.com"]);
  });

  it("says webhooks.start() without an argument when the options name every dependency", async () => {
    const logger = captureLogger();
    const { app, webhooks } = explicitApp(track(createMemoryStore()), { logger });
    webhooks.on("spam", () => {});
    expect((await post(app, [eventFixtures.spam()])).status).toBe(200);
    const [warning] = logger.entries.filter((e) => e.level === "warn");
    expect(warning?.message).toMatch(/call webhooks\.start\(\) once at boot/);
  });

  it("runs a retry left pending by the previous process once start() is called, without any request", async () => {
    const filename = join(tmp, "restart.db");
    const clock = manualClock();
    const retry = { retryBaseMs: 60_000, retryMaxMs: 60_000 };
    const events = [eventFixtures.hard_bounce({ email: "bounced@example.com" })];
    const [key = ""] = keysOf(events);

    // First life: the handler fails once, and the process stops with the retry a minute away.
    const before = openSqliteStore({ filename });
    const first = explicitApp(before, { clock, ...retry });
    first.webhooks.on("hard_bounce", () => {
      throw new Error("CRM unavailable");
    });
    first.webhooks.start();
    expect((await post(first.app, events)).status).toBe(200);
    await eventually(async () => (await before.inbox.get("acme", key))?.lastError?.includes("CRM") === true);
    await first.webhooks.close();
    await before.close();

    // Second life: nothing is posted; the retry runs as soon as it is due after start().
    const after = track(openSqliteStore({ filename }));
    const second = explicitApp(after, { clock, ...retry });
    const attempts: number[] = [];
    second.webhooks.on("hard_bounce", (_event, context) => {
      attempts.push(context.attempt);
    });
    clock.advance(73_000);
    second.webhooks.start();
    await eventually(() => attempts.length === 1);
    expect(attempts).toEqual([2]);
    await eventually(async () => (await after.inbox.get("acme", key))?.state === "done");
  });

  it("does nothing on start() after close()", async () => {
    const store = countingStore(track(createMemoryStore()));
    const { webhooks } = explicitApp(store);
    webhooks.on("send", () => {});
    await webhooks.close();
    webhooks.start();
    expect(await webhooks.runDue()).toBe(0);
    expect(store.calls.claim).toBe(0);
  });

  it("throws ERR_MK_KIT_NOT_MOUNTED from start() when it has no store, saying to pass kit.context", () => {
    const webhooks = track(mandrillWebhooks());
    expect(() => webhooks.start()).toThrow(
      expect.objectContaining({
        code: "ERR_MK_KIT_NOT_MOUNTED",
        message: expect.stringMatching(/webhooks\.start\(kit\.context\)/),
      }),
    );
    expect(() => webhooks.start({} as KitContext)).toThrow(/no store/);
  });
});

describe("events do not depend on which handlers this process registered", () => {
  it("stores every event pending, also the types no handler of this process wants", async () => {
    const store = track(createMemoryStore());
    const { app, webhooks } = explicitApp(store);
    webhooks.on("hard_bounce", () => {});
    const events = [eventFixtures.hard_bounce(), eventFixtures.send(), eventFixtures.open()];
    expect((await post(app, events)).status).toBe(200);
    for (const key of keysOf(events))
      expect((await store.inbox.get("acme", key))?.state, key).toBe("pending");
  });

  it("leaves events pending when a process without handlers starts, for the process that has them", async () => {
    const store = track(createMemoryStore());
    const web = explicitApp(store);
    web.webhooks.start();
    const events = [eventFixtures.hard_bounce({ email: "bounced@example.com" }), eventFixtures.send()];
    expect((await post(web.app, events)).status).toBe(200);
    expect(await web.webhooks.runDue()).toBe(0);
    expect(await store.inbox.stats("acme")).toMatchObject({ pending: 2, done: 0 });

    const worker = track(createDispatcher({ store }));
    const bounced: string[] = [];
    worker.on("hard_bounce", (event) => {
      bounced.push(event.email ?? "");
    });
    expect(await worker.runDue()).toBe(2);
    expect(bounced).toEqual(["bounced@example.com"]);
    expect(await store.inbox.stats("acme")).toMatchObject({ pending: 0, done: 2 });
  });

  it("completes the types no handler wants in one set-based completeUnwanted, the handled one with its claim", async () => {
    const store = countingStore(track(createMemoryStore()));
    const events = [
      eventFixtures.hard_bounce(),
      ...Array.from({ length: 10 }, (_, i) => eventFixtures.send({ email: `r${i}@example.com` })),
    ];
    await ingestEvents({ store, account: "acme", mandrillEvents: mandrillJson(events) });
    const worker = track(createDispatcher({ store }));
    let runs = 0;
    worker.on("hard_bounce", () => {
      runs++;
    });
    expect(await worker.runDue()).toBe(11);
    expect(runs).toBe(1);
    expect(store.calls.completeUnwanted[0]).toBe(10);
    expect(store.calls.completeMany).toEqual([1]);
    expect(await store.inbox.stats("acme")).toMatchObject({ pending: 0, done: 11 });
  });

  it("on a store without completeUnwanted, completes the types no handler wants together with the handled ones, in one completeMany per claim", async () => {
    const store = countingStore(withoutCompleteUnwanted(track(createMemoryStore())));
    const events = [
      eventFixtures.hard_bounce(),
      ...Array.from({ length: 10 }, (_, i) => eventFixtures.send({ email: `r${i}@example.com` })),
    ];
    await ingestEvents({ store, account: "acme", mandrillEvents: mandrillJson(events) });
    const worker = track(createDispatcher({ store }));
    let runs = 0;
    worker.on("hard_bounce", () => {
      runs++;
    });
    expect(await worker.runDue()).toBe(11);
    expect(runs).toBe(1);
    expect(store.calls.completeMany).toEqual([11]);
    expect(await store.inbox.stats("acme")).toMatchObject({ pending: 0, done: 11 });
  });

  it("stores the types listed in skipHandlersFor as done, and refuses on() for them", async () => {
    const store = track(createMemoryStore());
    const { app, webhooks } = explicitApp(store, { skipHandlersFor: ["open", "click"] });
    expect(() => webhooks.on(["hard_bounce", "open"], () => {})).toThrow(
      expect.objectContaining({ code: "ERR_MK_CONFIG_INVALID", message: expect.stringMatching(/"open"/) }),
    );
    const events = [eventFixtures.open(), eventFixtures.click(), eventFixtures.hard_bounce()];
    expect((await post(app, events)).status).toBe(200);
    const states = await Promise.all(
      keysOf(events).map(async (k) => (await store.inbox.get("acme", k))?.state),
    );
    expect(states).toEqual(["done", "done", "pending"]);
    expect(() => mandrillWebhooks({ skipHandlersFor: ["opens" as "open"] })).toThrow(
      /"opens".*not a Mandrill event type/,
    );
  });
});
