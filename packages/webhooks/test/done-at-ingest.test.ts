import { createMemoryStore, type Store } from "@mandrill-kit/core";
import { eventKey, parseMandrillEvents } from "@mandrill-kit/core/plugin";
import { type MandrillWebhooks, mandrillWebhooks } from "@mandrill-kit/webhooks";
import { eventFixtures, mandrillJson, signWebhook } from "@mandrill-kit/webhooks/testing";
import express from "express";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";

const KEY = "whk-done-at-ingest-0123456789";
const PUBLIC_URL = "https://hooks.example.com";
const PATH = "/hooks/mandrill";

const stores: Store[] = [];
const hooks: MandrillWebhooks[] = [];
afterEach(async () => {
  for (const w of hooks.splice(0)) await w.close();
  for (const s of stores.splice(0)) await s.close();
});

function setup(options: { skipHandlersFor?: ["click"] } = {}) {
  const store = createMemoryStore();
  stores.push(store);
  const webhooks = mandrillWebhooks({ store, publicUrl: PUBLIC_URL, path: PATH, key: KEY, ...options });
  hooks.push(webhooks);
  const app = express().use(webhooks);
  /** Posts a bounce, an open and a click; resolves with each one's state right after the 200. */
  const post = async () => {
    const events = [eventFixtures.hard_bounce(), eventFixtures.open(), eventFixtures.click()];
    const signed = signWebhook({ key: KEY, url: PUBLIC_URL + PATH, events });
    const response = await request(app).post(PATH).set(signed.headers).send(signed.body);
    expect(response.status).toBe(200);
    const parsed = parseMandrillEvents(mandrillJson(events));
    if (!parsed.ok) throw new Error(parsed.message);
    const states = await Promise.all(
      parsed.events.map(async (e) => (await store.inbox.get("default", eventKey(e)))?.state),
    );
    return { bounce: states[0], open: states[1], click: states[2] };
  };
  return { webhooks, post };
}

describe("events no handler here wants", () => {
  it("are stored done at once while this process dispatches with handlers", async () => {
    const { webhooks, post } = setup({ skipHandlersFor: ["click"] });
    webhooks.on("hard_bounce", () => new Promise(() => undefined));
    webhooks.start();
    const states = await post();
    expect(states.open).toBe("done");
    expect(states.click).toBe("done");
    expect(states.bounce).not.toBe("done");
  });

  it("are stored pending before start(), with an onAny handler, and after close()", async () => {
    const before = setup({ skipHandlersFor: ["click"] });
    before.webhooks.on("hard_bounce", () => undefined);
    expect(await before.post()).toEqual({ bounce: "pending", open: "pending", click: "done" });

    const any = setup();
    any.webhooks.onAny(() => new Promise(() => undefined));
    any.webhooks.start();
    expect((await any.post()).open).not.toBe("done");

    const closed = setup();
    closed.webhooks.on("hard_bounce", () => undefined);
    closed.webhooks.start();
    await closed.webhooks.close();
    expect(await closed.post()).toEqual({ bounce: "pending", open: "pending", click: "pending" });
  });

  it("are stored pending by a process without handlers (left to the processes that have them)", async () => {
    const { webhooks, post } = setup();
    webhooks.start();
    expect(await post()).toEqual({ bounce: "pending", open: "pending", click: "pending" });
  });
});
