import {
  createMemoryStore,
  type MandrillEvent,
  resolveSuppressionPolicy,
  type Store,
  silentLogger,
} from "@mandrill-kit/core";
import { eventKey, parseMandrillEvents } from "@mandrill-kit/core/plugin";
import { eventually } from "@mandrill-kit/core/testing";
import { addKey, type MandrillKitMiddleware, mandrillKit } from "@mandrill-kit/credentials";
import {
  createDispatcher,
  type Dispatcher,
  type HandlerContext,
  ingestEvents,
  type MandrillWebhooks,
  type MandrillWebhooksOptions,
  mandrillWebhooks,
} from "@mandrill-kit/webhooks";
import { eventFixtures, mandrillJson, signWebhook } from "@mandrill-kit/webhooks/testing";
import express, { type Express } from "express";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";

const PUBLIC_URL = "https://hooks.example.com";
const ACME_KEY = "whk-acme-0123456789abcdef";
const FAST: MandrillWebhooksOptions = { pollIntervalMs: 20, retryBaseMs: 10, retryMaxMs: 50 };

const toClose: (MandrillWebhooks | Dispatcher)[] = [];
const stores: Store[] = [];
const gates: (() => void)[] = [];
afterEach(async () => {
  // Let any handler still waiting on a gate finish, so close() can drain.
  for (const open of gates.splice(0)) open();
  for (const closable of toClose.splice(0)) await closable.close();
  for (const store of stores.splice(0)) await store.close();
});

interface Harness {
  app: Express;
  kit: MandrillKitMiddleware;
  store: Store;
  webhooks: MandrillWebhooks;
}

async function kitApp(options: MandrillWebhooksOptions = FAST): Promise<Harness> {
  const store = createMemoryStore();
  stores.push(store);
  const kit = mandrillKit({ store, keys: addKey(undefined, "k1"), publicUrl: PUBLIC_URL });
  await kit.credentials.save("acme", {
    username: "u@x.com",
    apiKey: "md-0123456789abcdefghij",
    fromEmail: "a@x.com",
    webhookKey: ACME_KEY,
  });
  const app = express();
  app.use(kit);
  const webhooks = mandrillWebhooks(options);
  toClose.push(webhooks);
  app.use(webhooks);
  webhooks.start(kit.context);
  return { app, kit, store, webhooks };
}

function post(h: Harness, events: unknown[]) {
  const signed = signWebhook({ key: ACME_KEY, url: h.kit.credentials.callbackUrl("acme"), events });
  return request(h.app).post("/webhooks/mandrill/acme").set(signed.headers).send(signed.body);
}

function keysOf(events: unknown[]): string[] {
  const parsed = parseMandrillEvents(mandrillJson(events));
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.events.map(eventKey);
}

/** A promise the test opens later; released in afterEach at the latest. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  gates.push(open);
  return { wait, open };
}

async function stateOf(store: Store, key: string | undefined) {
  return (await store.inbox.get("acme", key ?? ""))?.state;
}

describe("handlers of mandrillWebhooks()", () => {
  it("gives a handler its typed event and the context (account, received time, event key, attempt)", async () => {
    const h = await kitApp();
    const seen: { description: string | null | undefined; email: string | null; context: HandlerContext }[] =
      [];
    h.webhooks.on("hard_bounce", (event, context) => {
      seen.push({ description: event.payload.msg?.bounce_description, email: event.email, context });
    });
    const events = [eventFixtures.hard_bounce({ email: "Bounced@Example.com" }), eventFixtures.send()];
    const before = Date.now();
    expect((await post(h, events)).status).toBe(200);
    const after = Date.now();

    await eventually(() => seen.length === 1);
    const [run] = seen;
    expect(run?.description).toBe("bad_mailbox");
    expect(run?.email).toBe("bounced@example.com");
    expect(run?.context.account).toBe("acme");
    expect(run?.context.eventKey).toBe(keysOf(events)[0]);
    expect(run?.context.attempt).toBe(1);
    expect(run?.context.receivedAt).toBeInstanceOf(Date);
    expect(run?.context.receivedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(run?.context.receivedAt.getTime()).toBeLessThanOrEqual(after);
  });

  it("runs handlers for each listed type, and onAny for every event including sync events", async () => {
    const h = await kitApp();
    const complaints: string[] = [];
    const everything: MandrillEvent["type"][] = [];
    h.webhooks.on(["spam", "unsub"], (event) => {
      complaints.push(event.type);
    });
    h.webhooks.onAny((event) => {
      everything.push(event.type);
    });
    const events = [
      eventFixtures.spam(),
      eventFixtures.unsub(),
      eventFixtures.open(),
      eventFixtures.blacklist({ email: "denied@example.com" }),
    ];
    expect((await post(h, events)).status).toBe(200);
    await eventually(() => everything.length === 4);
    expect(complaints.sort()).toEqual(["spam", "unsub"]);
    expect(everything.sort()).toEqual(["blacklist", "open", "spam", "unsub"]);
  });

  it("answers the POST without waiting for a slow handler", async () => {
    const h = await kitApp();
    const slow = gate();
    let started = false;
    let finished = false;
    h.webhooks.on("send", async () => {
      started = true;
      await slow.wait;
      finished = true;
    });
    const events = [eventFixtures.send()];
    const response = await post(h, events);
    expect(response.status).toBe(200);
    expect(finished).toBe(false);

    await eventually(() => started);
    expect(await stateOf(h.store, keysOf(events)[0])).toBe("pending");
    slow.open();
    await eventually(async () => (await stateOf(h.store, keysOf(events)[0])) === "done");
    expect(finished).toBe(true);
  });

  it("retries a failing handler with backoff until it succeeds, while the POST itself succeeded", async () => {
    const h = await kitApp({ ...FAST, maxAttempts: 5 });
    const attempts: number[] = [];
    const errors: { message: string; attempt: number; willRetry: boolean }[] = [];
    h.webhooks.on("hard_bounce", (_event, context) => {
      attempts.push(context.attempt);
      if (context.attempt < 3) throw new Error(`CRM unavailable (${context.attempt})`);
    });
    h.webhooks.onError((error, info) => {
      errors.push({ message: error.message, attempt: info.attempt, willRetry: info.willRetry });
    });
    const events = [eventFixtures.hard_bounce({ email: "bounced@example.com" })];
    const response = await post(h, events);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ received: 1, new: 1, duplicates: 0 });

    const [key] = keysOf(events);
    await eventually(async () => (await stateOf(h.store, key)) === "done");
    expect(attempts).toEqual([1, 2, 3]);
    expect(errors).toEqual([
      { message: "CRM unavailable (1)", attempt: 1, willRetry: true },
      { message: "CRM unavailable (2)", attempt: 2, willRetry: true },
    ]);
    expect((await h.store.inbox.get("acme", key ?? ""))?.attempts).toBe(3);
    // The suppression was committed with the batch, whatever the handler did.
    expect(await h.store.suppressions.check("acme", ["bounced@example.com"])).toHaveLength(1);
  });

  it("dead-letters an event after maxAttempts, telling onError it will not retry, and replay() runs it again", async () => {
    const h = await kitApp({ ...FAST, maxAttempts: 3 });
    let fixed = false;
    const attempts: number[] = [];
    const willRetry: boolean[] = [];
    h.webhooks.on("unsub", (_event, context) => {
      attempts.push(context.attempt);
      if (!fixed) throw new Error("CRM rejected the update");
    });
    h.webhooks.onError((_error, info) => {
      willRetry.push(info.willRetry);
    });
    const events = [eventFixtures.unsub({ email: "left@example.com" })];
    expect((await post(h, events)).status).toBe(200);

    const [key = ""] = keysOf(events);
    await eventually(async () => (await stateOf(h.store, key)) === "dead");
    expect(attempts).toEqual([1, 2, 3]);
    expect(willRetry).toEqual([true, true, false]);
    expect((await h.store.inbox.get("acme", key))?.lastError).toMatch(/CRM rejected the update/);
    await h.webhooks.runDue();
    expect(attempts).toHaveLength(3);

    fixed = true;
    expect(await h.webhooks.replay("acme", key)).toBe(true);
    await eventually(async () => (await stateOf(h.store, key)) === "done");
    expect(attempts).toEqual([1, 2, 3, 1]);
    expect(await h.webhooks.replay("acme", "0000000000:send:no-such-event")).toBe(false);
  });

  it("replays an event that already completed", async () => {
    const h = await kitApp();
    let runs = 0;
    h.webhooks.on("click", () => {
      runs++;
    });
    const events = [eventFixtures.click()];
    const [key = ""] = keysOf(events);
    expect((await post(h, events)).status).toBe(200);
    await eventually(async () => (await stateOf(h.store, key)) === "done");
    expect(await h.webhooks.replay("acme", key)).toBe(true);
    await eventually(() => runs === 2);
    await eventually(async () => (await stateOf(h.store, key)) === "done");
  });

  it("counts a handler that runs longer than handlerTimeoutMs as failed", async () => {
    const h = await kitApp({ ...FAST, maxAttempts: 1, handlerTimeoutMs: 50 });
    const stuck = gate();
    const errors: Error[] = [];
    h.webhooks.on("open", () => stuck.wait);
    h.webhooks.onError((error) => {
      errors.push(error);
    });
    const events = [eventFixtures.open()];
    const [key = ""] = keysOf(events);
    expect((await post(h, events)).status).toBe(200);
    await eventually(async () => (await stateOf(h.store, key)) === "dead");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/did not finish within 50 ms/);
    expect((await h.store.inbox.get("acme", key))?.lastError).toMatch(/did not finish within 50 ms/);
  });

  it("completes events that no handler listens to", async () => {
    const h = await kitApp();
    h.webhooks.on("hard_bounce", () => {});
    const events = [
      eventFixtures.send(),
      eventFixtures.open(),
      eventFixtures.whitelist(),
      eventFixtures.inbound(),
    ];
    expect((await post(h, events)).status).toBe(200);
    await eventually(async () => (await h.store.inbox.stats("acme")).done === 4);
    const stats = await h.store.inbox.stats("acme");
    expect(stats).toMatchObject({ total: 4, pending: 0, dead: 0 });
  });

  it("runs handlers registered after the first request", async () => {
    const h = await kitApp();
    expect((await post(h, [eventFixtures.send()])).status).toBe(200);
    const seen: string[] = [];
    h.webhooks.on("spam", (event) => {
      seen.push(event.email ?? "");
    });
    expect((await post(h, [eventFixtures.spam({ email: "complained@example.com" })])).status).toBe(200);
    await eventually(() => seen.length === 1);
    expect(seen).toEqual(["complained@example.com"]);
  });

  it("waits in close() for a handler that is running", async () => {
    const h = await kitApp();
    const slow = gate();
    let started = false;
    let finished = false;
    h.webhooks.on("send", async () => {
      started = true;
      await slow.wait;
      finished = true;
    });
    const events = [eventFixtures.send()];
    expect((await post(h, events)).status).toBe(200);
    await eventually(() => started);

    // What the handler had done when close() resolved: it must have finished by then.
    const closing = h.webhooks.close().then(() => finished);
    slow.open();
    expect(await closing).toBe(true);
    expect(await stateOf(h.store, keysOf(events)[0])).toBe("done");
  });

  it("keeps dispatching when an onError handler throws", async () => {
    const h = await kitApp();
    const told: number[] = [];
    let failedOnce = false;
    const done: string[] = [];
    h.webhooks.on("hard_bounce", (event) => {
      if (!failedOnce) {
        failedOnce = true;
        throw new Error("first run fails");
      }
      done.push(event.type);
    });
    h.webhooks.on("send", (event) => {
      done.push(event.type);
    });
    h.webhooks.onError(() => {
      throw new Error("the error reporter is broken too");
    });
    h.webhooks.onError((_error, info) => {
      told.push(info.attempt);
    });
    const events = [eventFixtures.hard_bounce(), eventFixtures.send()];
    expect((await post(h, events)).status).toBe(200);
    await eventually(async () => (await h.store.inbox.stats("acme")).done === 2);
    expect(done.sort()).toEqual(["hard_bounce", "send"]);
    expect(told).toEqual([1]);
  });
});

describe("createDispatcher() without HTTP", () => {
  function dispatcherFor(store: Store, options: { pollIntervalMs?: number } = {}): Dispatcher {
    const dispatcher = createDispatcher({
      store,
      logger: silentLogger,
      retryBaseMs: 10,
      retryMaxMs: 50,
      ...options,
    });
    toClose.push(dispatcher);
    return dispatcher;
  }

  it("runs handlers for events stored with ingestEvents when runDue() is called", async () => {
    const store = createMemoryStore();
    stores.push(store);
    const events = [
      eventFixtures.hard_bounce({ email: "bounced@example.com" }),
      eventFixtures.send(),
      eventFixtures.deferral(),
    ];
    const outcome = await ingestEvents({ store, account: "acme", mandrillEvents: mandrillJson(events) });
    expect(outcome.status).toBe("ingested");
    expect(await store.suppressions.check("acme", ["bounced@example.com"])).toHaveLength(1);

    const dispatcher = dispatcherFor(store);
    const bounces: string[] = [];
    const all: string[] = [];
    dispatcher.on("hard_bounce", (event, context) => {
      bounces.push(`${context.account}:${event.payload.msg?.bounce_description}`);
    });
    dispatcher.onAny((_event, context) => {
      all.push(context.eventKey);
    });
    expect(await dispatcher.runDue()).toBe(3);
    expect(bounces).toEqual(["acme:bad_mailbox"]);
    expect(all.sort()).toEqual(keysOf(events).sort());
    expect(await store.inbox.stats("acme")).toMatchObject({ done: 3, pending: 0 });

    const again = await ingestEvents({ store, account: "acme", mandrillEvents: mandrillJson(events) });
    expect(again.status === "ingested" && again.result.duplicates.length).toBe(3);
    expect(await dispatcher.runDue()).toBe(0);
    expect(all).toHaveLength(3);
  });

  it("picks up newly ingested events once started", async () => {
    const store = createMemoryStore();
    stores.push(store);
    const dispatcher = dispatcherFor(store, { pollIntervalMs: 20 });
    const seen: string[] = [];
    dispatcher.on("unsub", (event) => {
      seen.push(event.email ?? "");
    });
    dispatcher.start();
    await ingestEvents({
      store,
      account: "acme",
      mandrillEvents: mandrillJson([eventFixtures.unsub({ email: "left@example.com" })]),
      policy: resolveSuppressionPolicy(),
    });
    dispatcher.wake();
    await eventually(() => seen.length === 1);
    expect(seen).toEqual(["left@example.com"]);
  });
});
