import { createMemoryStore, type Store } from "@mandrill-kit/core";
import { createDispatcher, type Dispatcher, ingestEvents } from "@mandrill-kit/webhooks";
import { eventFixtures, mandrillJson } from "@mandrill-kit/webhooks/testing";
import { afterEach, describe, expect, it } from "vitest";
import { countingStore, withInbox } from "./helpers.js";

const closables: (Dispatcher | Store)[] = [];
afterEach(async () => {
  for (const c of closables.splice(0).reverse()) await c.close();
});

async function ingest(store: Store, events: unknown[]): Promise<void> {
  await ingestEvents({ store, account: "acme", mandrillEvents: mandrillJson(events) });
}

describe("how the dispatcher claims", () => {
  it("claims in growing batches while most events have no handler here, completing each batch at once", async () => {
    const store = countingStore(createMemoryStore());
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
});
