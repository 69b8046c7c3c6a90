import {
  type CredentialRepository,
  createMemoryStore,
  MandrillKitConfigError,
  type MandrillSettings,
  type Store,
} from "@mandrill-kit/core";
import { manualClock } from "@mandrill-kit/core/testing";
import {
  addKey,
  type CredentialsOptions,
  type CredentialsService,
  createCredentials,
  type MandrillSettingsInput,
} from "@mandrill-kit/credentials";
import { describe, expect, it } from "vitest";
import { createSettingsCache, NEGATIVE_TTL_MS } from "../src/settings-cache.js";

/*
 * Issue 13, item 5: each webhook POST to an unknown account id looks the id up in the credentials
 * cache (webhookKeys → get). The cache used to keep every id it was asked for, for ever: an
 * unauthenticated flood of distinct ids grew the process without bound.
 */

const KEYS = addKey(undefined, "k1");
const VALID = {
  transport: "smtp",
  username: "owner@example.com",
  apiKey: "md-CacheBoundsApiKey-0123456789",
  fromEmail: "hello@example.com",
  fromName: "Acme Support",
  webhookKey: "whk-cache-bounds-1111",
} satisfies MandrillSettingsInput;

/** A store whose `credentials.get` calls are counted per account. */
function countingStore(inner: Store = createMemoryStore()) {
  const reads = new Map<string, number>();
  const credentials: CredentialRepository = {
    get: (account) => {
      reads.set(account, (reads.get(account) ?? 0) + 1);
      return inner.credentials.get(account);
    },
    put: (account, write, options) => inner.credentials.put(account, write, options),
    delete: (account) => inner.credentials.delete(account),
    list: (options) => inner.credentials.list(options),
  };
  const store: Store = { ...inner, credentials, migrate: () => inner.migrate(), close: () => inner.close() };
  return { store, inner, reads: (account: string) => reads.get(account) ?? 0 };
}

function service(store: Store, overrides: Partial<CredentialsOptions> = {}): CredentialsService {
  return createCredentials({ store, keys: KEYS, publicUrl: "https://app.example.com", ...overrides });
}

describe("webhook flood of unknown account ids (issue 13.5)", () => {
  it("keeps at most cacheMaxEntries accounts while 100,000 distinct unknown ids are looked up", async () => {
    const clock = manualClock();
    const cache = createSettingsCache({ ttlMs: 30_000, maxEntries: 1_000 }, clock);
    const unknown = async (): Promise<MandrillSettings | undefined> => undefined;
    let largest = 0;
    for (let i = 0; i < 100_000; i++) {
      await cache.get(`nobody-${i}`, unknown);
      largest = Math.max(largest, cache.size);
    }
    expect(largest).toBe(1_000);
    expect(cache.size).toBe(1_000);
  });

  it("keeps the cap when the lookups are concurrent (loads in flight count)", async () => {
    const cache = createSettingsCache({ ttlMs: 30_000, maxEntries: 100 }, manualClock());
    let largest = 0;
    await Promise.all(
      Array.from({ length: 10_000 }, async (_, i) => {
        const pending = cache.get(`nobody-${i}`, async () => undefined);
        largest = Math.max(largest, cache.size);
        await pending;
      }),
    );
    expect(largest).toBeLessThanOrEqual(100);
  });

  it("evicts the least recently used account, not the one just read", async () => {
    const { store, inner, reads } = countingStore();
    const writer = service(inner, { cacheTtlMs: 0 });
    for (const account of ["a", "b", "c"]) await writer.save(account, VALID);
    const reader = service(store, { cacheMaxEntries: 2 });
    await reader.get("a");
    await reader.get("b");
    await reader.get("a"); // a is now the most recently used
    await reader.get("c"); // evicts b
    await reader.get("a");
    expect(reads("a")).toBe(1);
    await reader.get("b");
    expect(reads("b")).toBe(2);
  });

  it("a flood of unknown ids cannot push a known account out for longer than one store read", async () => {
    const { store, inner, reads } = countingStore();
    await service(inner, { cacheTtlMs: 0 }).save("acme", VALID);
    const reader = service(store, { cacheMaxEntries: 50 });
    expect(await reader.webhookKeys("acme")).toHaveLength(1);
    for (let i = 0; i < 1_000; i++) expect(await reader.webhookKeys(`nobody-${i}`)).toEqual([]);
    // Evicted by the flood: read again (not lost), then cached again.
    expect(await reader.webhookKeys("acme")).toHaveLength(1);
    expect(await reader.webhookKeys("acme")).toHaveLength(1);
    expect(reads("acme")).toBe(2);
  });

  it("remembers an unknown account only briefly: an account created elsewhere is seen within 5 s", async () => {
    const { store, inner, reads } = countingStore();
    const clock = manualClock();
    const other = service(inner, { cacheTtlMs: 0, clock }); // another instance
    const reader = service(store, { clock }); // default TTL: 30 s
    expect(await reader.webhookKeys("newco")).toEqual([]);
    expect(await reader.webhookKeys("newco")).toEqual([]);
    expect(reads("newco")).toBe(1); // a burst to one unknown id costs one store read
    await other.save("newco", VALID);
    clock.advance(NEGATIVE_TTL_MS - 1);
    expect(await reader.webhookKeys("newco")).toEqual([]);
    clock.advance(1);
    expect(await reader.webhookKeys("newco")).toHaveLength(1);
    expect(reads("newco")).toBe(2);
  });

  it("keeps known accounts for the full TTL and still invalidates them on a write through this instance", async () => {
    const { store, inner, reads } = countingStore();
    const clock = manualClock();
    await service(inner, { cacheTtlMs: 0, clock }).save("acme", VALID);
    const reader = service(store, { clock });
    await reader.get("acme");
    clock.advance(NEGATIVE_TTL_MS * 2);
    await reader.get("acme");
    expect(reads("acme")).toBe(1);
    await reader.save("acme", { fromName: "Changed" });
    expect((await reader.get("acme"))?.fromName).toBe("Changed");
    await reader.delete("acme");
    expect(await reader.get("acme")).toBeUndefined();
  });

  it.each([0, -1, 1.5, "100"])("refuses cacheMaxEntries %j at the factory", (cacheMaxEntries) => {
    let thrown: unknown;
    try {
      service(createMemoryStore(), { cacheMaxEntries: cacheMaxEntries as number });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MandrillKitConfigError);
    expect((thrown as MandrillKitConfigError).option).toBe("cacheMaxEntries");
  });
});
