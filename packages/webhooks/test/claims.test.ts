import { createMemoryStore, type Store } from "@mandrill-kit/core";
import { createDispatcher, type Dispatcher, ingestEvents } from "@mandrill-kit/webhooks";
import { eventFixtures, mandrillJson } from "@mandrill-kit/webhooks/testing";
import { afterEach, describe, expect, it } from "vitest";
import { countingStore, withInbox, withoutCompleteUnwanted } from "./helpers.js";

const closables: (Dispatcher | Store)[] = [];
afterEach(async () => {
  for (const c of closables.splice(0).reverse()) await c.close();
});

async function ingest(store: Store, events: unknown[]): Promise<void> {
  await ingestEvents({ store, account: "acme", mandrillEvents: mandrillJson(events) });
}

describe("how the dispatcher claims", () => {
  it("on a store without completeUnwanted, claims in growing batches while most events have no handler here, completing each batch at once", async () => {
    const store = countingStore(withoutCompleteUnwanted(createMemoryStore()));
    closables.push(store);
    await ingest(store, [
      eventFixtures.hard_bounce(),
      ...Array.from({ length: 1000 }, (_, i) => eventFixtures.send({ email: `r${i}@example.com` })),
    ]);
    const dispatcher = createDispatcher({ store });
    closables.push(dispatcher);
    dispatcher.on("hard_bounce", () => {});
    expect(await dispatcher.runDue()).toBe(1001);
    // 16, 128, then 200 at a time — not 63 claims of 16.
    expect(store.calls.claim).toBeLessThanOrEqual(9);
    expect(store.calls.completeMany.reduce((a, b) => a + b, 0)).toBe(1001);
    expect(await store.inbox.stats("acme")).toMatchObject({ pending: 0, done: 1001 });
  });

  it("completes events no handler here wants set-based, without claiming them, and claims only wanted types", async () => {
    const store = countingStore(createMemoryStore());
    closables.push(store);
    await ingest(store, [
      eventFixtures.hard_bounce(),
      ...Array.from({ length: 1000 }, (_, i) => eventFixtures.send({ email: `r${i}@example.com` })),
      { ...eventFixtures.send({ email: "new@example.com" }), event: "brand_new_type" },
    ]);
    const claimedTypes: string[] = [];
    const observed = withInbox(store, {
      claim: async (options) => {
        const records = await store.inbox.claim(options);
        claimedTypes.push(...records.map((r) => r.type));
        return records;
      },
    });
    const dispatcher = createDispatcher({ store: observed });
    closables.push(dispatcher);
    const ran: string[] = [];
    dispatcher.on(["hard_bounce", "unknown"], (event) => {
      ran.push(event.type === "unknown" ? `unknown:${event.name}` : event.type);
    });
    expect(await dispatcher.runDue()).toBe(1002);
    expect(ran.sort()).toEqual(["hard_bounce", "unknown:brand_new_type"]);
    // Only the two wanted events were claimed and completed one by one; the 1,000 sends in one statement.
    expect(claimedTypes.sort()).toEqual(["hard_bounce", "unknown:brand_new_type"]);
    expect(store.calls.completeMany.reduce((a, b) => a + b, 0)).toBe(2);
    expect(store.calls.completeUnwanted.reduce((a, b) => a + b, 0)).toBe(1000);
    const sends = await store.inbox.list("acme", { type: "send", limit: 1000 });
    expect(sends.items.every((r) => r.state === "done" && r.attempts === 0)).toBe(true);
    expect(await store.inbox.stats("acme")).toMatchObject({ pending: 0, done: 1002 });
  });

  it("with an onAny handler completes nothing unrun: every event's handlers run", async () => {
    const store = countingStore(createMemoryStore());
    closables.push(store);
    await ingest(store, [
      eventFixtures.hard_bounce(),
      ...Array.from({ length: 30 }, (_, i) => eventFixtures.send({ email: `r${i}@example.com` })),
    ]);
    const dispatcher = createDispatcher({ store });
    closables.push(dispatcher);
    let runs = 0;
    dispatcher.on("hard_bounce", () => {});
    dispatcher.onAny(() => {
      runs++;
    });
    expect(await dispatcher.runDue()).toBe(31);
    expect(runs).toBe(31);
    expect(store.calls.completeUnwanted).toEqual([]);
  });

  it("never runs more handlers from one claim than its lease covers, and runs the rest from later claims", async () => {
    const memory = createMemoryStore();
    closables.push(memory);
    // Unhandled events first, so claims grow; then a flood of handled ones lands in one big claim.
    await ingest(
      memory,
      Array.from({ length: 60 }, (_, i) => eventFixtures.send({ email: `s${i}@example.com` })),
    );
    await ingest(
      memory,
      Array.from({ length: 40 }, (_, i) => eventFixtures.hard_bounce({ email: `b${i}@example.com` })),
    );
    let runsSinceClaim = 0;
    let most = 0;
    const store = withInbox(memory, {
      claim: (options) => {
        runsSinceClaim = 0;
        return memory.inbox.claim(options);
      },
    });
    // concurrency 1: the lease covers 4 runs per claim.
    const dispatcher = createDispatcher({ store, concurrency: 1 });
    closables.push(dispatcher);
    const runs = new Map<string, number>();
    dispatcher.on("hard_bounce", (_event, context) => {
      runsSinceClaim++;
      most = Math.max(most, runsSinceClaim);
      runs.set(context.eventKey, (runs.get(context.eventKey) ?? 0) + 1);
    });
    await dispatcher.runDue();
    expect(most).toBeLessThanOrEqual(4);
    expect(runs.size).toBe(40);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(await memory.inbox.stats("acme")).toMatchObject({ pending: 0, done: 100 });
  });

  it("a round woken by an ingest stops after a claim that came back short and skips the unwanted sweep", async () => {
    const store = countingStore(createMemoryStore());
    closables.push(store);
    // A long poll interval: only start() and the wake below run rounds in this test.
    const dispatcher = createDispatcher({ store, pollIntervalMs: 3_600_000 });
    closables.push(dispatcher);
    const ran: string[] = [];
    dispatcher.on("hard_bounce", (event) => {
      ran.push(event.email ?? "");
    });
    dispatcher.start();
    await eventually(() => store.calls.claim === 1);
    expect(store.calls.completeUnwanted).toEqual([0]);
    await ingest(
      store,
      Array.from({ length: 5 }, (_, i) => eventFixtures.hard_bounce({ email: `b${i}@example.com` })),
    );
    dispatcher.wake();
    await eventually(() => ran.length === 5 && store.calls.completeMany.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // One claim (5 of 16: every due event taken), no second empty claim, no sweep.
    expect(store.calls.claim).toBe(2);
    expect(store.calls.completeUnwanted).toEqual([0]);
    expect(await store.inbox.stats("acme")).toMatchObject({ pending: 0, done: 5 });
  });
});

async function eventually(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}
