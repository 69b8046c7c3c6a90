import { createMemoryStore, type Store } from "@mandrill-kit/core";
import { addKey, mandrillKit } from "@mandrill-kit/credentials";
import { mandrillWebhooks } from "@mandrill-kit/webhooks";
import { describe, expect, it } from "vitest";

const options = { keys: addKey(undefined, "k1"), publicUrl: "https://app.example.com" };

/** A store whose credential reads never answer (a database that accepts connections but hangs). */
function hangingStore(store: Store): Store {
  return {
    ...store,
    kind: store.kind,
    credentials: { ...store.credentials, get: () => new Promise(() => {}) },
    migrate: () => store.migrate(),
    close: () => store.close(),
  };
}

describe("kit.health()", () => {
  it("is ok with every check timed when the store answers, the key set loads and dispatching was not started", async () => {
    const store = createMemoryStore();
    const kit = mandrillKit({ store, ...options });
    const health = await kit.health();
    expect(health.ok).toBe(true);
    expect(health.checks.store).toEqual({ ok: true, ms: expect.any(Number) });
    expect(health.checks.keys).toEqual({ ok: true, ms: expect.any(Number) });
    expect(health.checks.dispatcher).toMatchObject({
      ok: true,
      detail: expect.stringContaining("not started"),
    });
    await store.close();
  });

  it("fails the store check in plain words when the store does not answer within the deadline", async () => {
    const store = createMemoryStore();
    const kit = mandrillKit({ store: hangingStore(store), ...options });
    const health = await kit.health({ deadlineMs: 50 });
    expect(health.ok).toBe(false);
    expect(health.checks.store).toMatchObject({ ok: false, error: "the store did not answer within 50 ms" });
    expect(health.checks.keys.ok).toBe(true);
    await store.close();
  });

  it("fails the store check with the store's error when it is closed", async () => {
    const store = createMemoryStore();
    const kit = mandrillKit({ store, ...options });
    await store.close();
    const health = await kit.health();
    expect(health.checks.store.ok).toBe(false);
    expect(health.checks.store.error).toMatch(/closed/i);
  });

  it("sees the dispatcher started with the kit's context, and fails once it is closed", async () => {
    const store = createMemoryStore();
    const kit = mandrillKit({ store, ...options });
    const webhooks = mandrillWebhooks();
    webhooks.on("send", () => {});
    webhooks.start(kit.context);
    expect((await kit.health()).checks.dispatcher).toEqual({ ok: true, ms: expect.any(Number) });
    await webhooks.close();
    const health = await kit.health();
    expect(health.ok).toBe(false);
    expect(health.checks.dispatcher).toMatchObject({ ok: false, error: "the dispatcher was closed" });
    await store.close();
  });
});
