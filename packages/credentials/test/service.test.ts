import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import {
  type CredentialRepository,
  createMemoryStore,
  MandrillKitConfigError,
  MandrillKitError,
  MandrillKitValidationError,
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
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { afterAll, describe, expect, it } from "vitest";

const KEYS = addKey(undefined, "k1");
const PUBLIC_URL = "https://app.example.com";
const API_KEY = "md-ServiceTestApiKey-0123456789";
const NEW_API_KEY = "md-ServiceTestApiKey-NEW-9876";
const HOOK_1 = "whk-first-key-1111aaaa";
const HOOK_2 = "whk-second-key-2222bbbb";
const VALID = {
  transport: "smtp",
  username: "owner@example.com",
  apiKey: API_KEY,
  fromEmail: "hello@example.com",
  fromName: "Acme Support",
} satisfies MandrillSettingsInput;

const dir = mkdtempSync(join(tmpdir(), "mk-credentials-service-"));
const opened: Store[] = [];
afterAll(async () => {
  for (const store of opened) await store.close();
  rmSync(dir, { recursive: true, force: true });
});
let files = 0;

function sqliteStore(): Store {
  const store = openSqliteStore({ filename: join(dir, `service-${++files}.sqlite`) });
  opened.push(store);
  return store;
}

function service(overrides: Partial<CredentialsOptions> = {}): CredentialsService {
  return createCredentials({ store: createMemoryStore(), keys: KEYS, publicUrl: PUBLIC_URL, ...overrides });
}

/** A store whose `credentials.get` calls are counted, to see when the service reads instead of its cache. */
function countingStore(inner: Store = createMemoryStore()): {
  store: Store;
  inner: Store;
  reads: () => number;
} {
  let reads = 0;
  const credentials: CredentialRepository = {
    get: (account) => {
      reads++;
      return inner.credentials.get(account);
    },
    put: (account, write, options) => inner.credentials.put(account, write, options),
    delete: (account) => inner.credentials.delete(account),
    list: (options) => inner.credentials.list(options),
  };
  const store: Store = {
    kind: inner.kind,
    credentials,
    suppressions: inner.suppressions,
    inbox: inner.inbox,
    sends: inner.sends,
    migrate: () => inner.migrate(),
    close: () => inner.close(),
  };
  return { store, inner, reads: () => reads };
}

async function rejectionOf(promise: Promise<unknown>): Promise<MandrillKitError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MandrillKitError);
    return error as MandrillKitError;
  }
  throw new Error("expected the call to reject, it resolved");
}

async function validationError(promise: Promise<unknown>): Promise<MandrillKitValidationError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(MandrillKitValidationError);
  expect(error.code).toBe("ERR_MK_VALIDATION_FAILED");
  return error as MandrillKitValidationError;
}

const fieldNames = (error: MandrillKitValidationError): string[] => error.fields.map((f) => f.field);

function configError(run: () => unknown): MandrillKitConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MandrillKitConfigError);
    return error as MandrillKitConfigError;
  }
  throw new Error("expected a MandrillKitConfigError, nothing was thrown");
}

describe.each([
  ["a memory store", () => createMemoryStore()],
  ["a SQLite file store", sqliteStore],
])("createCredentials on %s", (_name, makeStore) => {
  it("saves settings and describes them with the API key masked to its last 4 characters", async () => {
    const credentials = service({ store: makeStore() });
    const view = await credentials.save("acme", { ...VALID, webhookKey: HOOK_1 });
    expect(view).toMatchObject({
      account: "acme",
      version: 1,
      transport: "smtp",
      host: "smtp.mandrillapp.com",
      port: 587,
      username: "owner@example.com",
      apiKey: `••••${API_KEY.slice(-4)}`,
      hasApiKey: true,
      fromEmail: "hello@example.com",
      fromName: "Acme Support",
      replyTo: null,
      hasWebhookKey: true,
      callbackUrl: "https://app.example.com/webhooks/mandrill/acme",
      lastVerification: null,
    });
    expect(view.webhookKeys).toEqual([
      {
        id: expect.any(String),
        masked: `••••${HOOK_1.slice(-4)}`,
        addedAt: expect.any(Number),
        current: true,
      },
    ]);
    expect(await credentials.describe("acme")).toEqual(view);
    expect(JSON.stringify(view)).not.toContain(API_KEY);
    expect(JSON.stringify(view)).not.toContain(HOOK_1);
  });

  it("get() returns the original secrets behind Secret values", async () => {
    const credentials = service({ store: makeStore() });
    await credentials.save("acme", { ...VALID, webhookKey: HOOK_1 });
    const settings = await credentials.get("acme");
    expect(settings?.apiKey?.reveal()).toBe(API_KEY);
    expect(settings?.webhookKeys.map((k) => k.key.reveal())).toEqual([HOOK_1]);
    expect(settings).toMatchObject({ account: "acme", fromEmail: "hello@example.com", port: 587 });
    expect(JSON.stringify(settings)).not.toContain(API_KEY);
  });

  it("keeps the stored API key when an update leaves it out", async () => {
    const credentials = service({ store: makeStore() });
    await credentials.save("acme", VALID);
    const view = await credentials.save("acme", { fromName: "Acme Billing" });
    expect(view).toMatchObject({ fromName: "Acme Billing", hasApiKey: true, version: 2 });
    expect((await credentials.get("acme"))?.apiKey?.reveal()).toBe(API_KEY);
  });

  it("reads back what another service instance saved in the same store", async () => {
    const store = makeStore();
    await service({ store }).save("acme", { ...VALID, webhookKey: HOOK_1 });
    const other = service({ store });
    expect((await other.get("acme"))?.apiKey?.reveal()).toBe(API_KEY);
    expect((await other.webhookKeys("acme")).map((k) => k.reveal())).toEqual([HOOK_1]);
  });
});

describe("Callback URL", () => {
  it("is publicUrl followed by /webhooks/mandrill/<account>", async () => {
    const credentials = service();
    expect(credentials.callbackUrl("acme")).toBe("https://app.example.com/webhooks/mandrill/acme");
    expect((await credentials.save("acme", VALID)).callbackUrl).toBe(
      "https://app.example.com/webhooks/mandrill/acme",
    );
  });

  it("uses a custom webhookPath", async () => {
    const credentials = service({ webhookPath: "/hooks/:account/mandrill" });
    expect((await credentials.save("acme", VALID)).callbackUrl).toBe(
      "https://app.example.com/hooks/acme/mandrill",
    );
  });

  it("does not double the slash when publicUrl ends with one", () => {
    expect(service({ publicUrl: "https://app.example.com/" }).callbackUrl("acme")).toBe(
      "https://app.example.com/webhooks/mandrill/acme",
    );
    expect(service({ publicUrl: "https://example.com/app/" }).callbackUrl("acme")).toBe(
      "https://example.com/app/webhooks/mandrill/acme",
    );
  });
});

describe("validation", () => {
  it("lists every invalid field in one error", async () => {
    const credentials = service();
    const error = await validationError(
      credentials.save("acme", {
        transport: "pop3",
        host: "bad host",
        port: 0,
        fromName: "Acme\nBcc: victim@example.com",
        replyTo: "not-an-address",
        fromEmail: "nobody",
        colour: "blue",
      } as unknown as MandrillSettingsInput),
    );
    expect(fieldNames(error).sort()).toEqual(
      [
        "apiKey",
        "colour",
        "fromEmail",
        "fromName",
        "host",
        "port",
        "replyTo",
        "transport",
        "username",
      ].sort(),
    );
    for (const field of fieldNames(error)) expect(error.message).toContain(field);
    expect(await credentials.describe("acme")).toBeUndefined();
  });

  it("requires fromEmail when creating an account", async () => {
    const { fromEmail: _omitted, ...withoutFrom } = VALID;
    const error = await validationError(service().save("acme", withoutFrom));
    expect(fieldNames(error)).toEqual(["fromEmail"]);
  });

  it("does not require fromEmail again on update", async () => {
    const credentials = service();
    await credentials.save("acme", VALID);
    expect((await credentials.save("acme", { fromName: "New" })).fromEmail).toBe("hello@example.com");
  });

  it.each([
    ["an invalid fromEmail", { fromEmail: "hello@" }, "fromEmail"],
    ["port 0", { port: 0 }, "port"],
    ["port 70000", { port: 70_000 }, "port"],
    ['port "abc"', { port: "abc" }, "port"],
    ['transport "pop3"', { transport: "pop3" }, "transport"],
    ['host "bad host"', { host: "bad host" }, "host"],
    ["a fromName with a newline", { fromName: "Acme\r\nBcc: x@example.com" }, "fromName"],
    ["an invalid replyTo", { replyTo: "support at example.com" }, "replyTo"],
    ["an unknown field", { fromAddress: "hello@example.com" }, "fromAddress"],
  ])("refuses %s by field name", async (_what, change, field) => {
    const error = await validationError(
      service().save("acme", { ...VALID, ...change } as unknown as MandrillSettingsInput),
    );
    expect(fieldNames(error)).toEqual([field]);
    expect(error.fields[0]?.message).toMatch(/\w/);
  });

  it("accepts a port given as a numeric string", async () => {
    expect((await service().save("acme", { ...VALID, port: "2525" })).port).toBe(2525);
  });

  it("requires an API key for the SMTP transport", async () => {
    const { apiKey: _omitted, ...withoutKey } = VALID;
    const error = await validationError(service().save("acme", { ...withoutKey, transport: "smtp" }));
    expect(fieldNames(error)).toEqual(["apiKey"]);
    expect(error.fields[0]?.message).toMatch(/SMTP/);
  });

  it("requires an API key for the API transport", async () => {
    const { apiKey: _omitted, ...withoutKey } = VALID;
    const error = await validationError(service().save("acme", { ...withoutKey, transport: "api" }));
    expect(fieldNames(error)).toEqual(["apiKey"]);
    expect(error.fields[0]?.message).toMatch(/API/);
  });

  it("requires a username for SMTP but not for the API", async () => {
    const { username: _omitted, ...withoutUser } = VALID;
    const error = await validationError(service().save("acme", { ...withoutUser, transport: "smtp" }));
    expect(fieldNames(error)).toEqual(["username"]);
    expect((await service().save("acme", { ...withoutUser, transport: "api" })).username).toBe("");
  });

  it("never puts a submitted secret in the error, its JSON or its inspection", async () => {
    const secret = "md-SubmittedSecret-0123456789";
    const error = await validationError(
      service().save("acme", {
        apiKey: `${secret} pasted twice ${secret}`,
        webhookKey: `${secret}\t${secret}`,
        fromEmail: secret,
        replyTo: secret,
        username: `\u0000${secret}`,
        fromName: `${secret}\nBcc: x@example.com`,
        port: secret,
        transport: secret,
        unsubscribeMode: secret,
      } as unknown as MandrillSettingsInput),
    );
    expect(fieldNames(error).sort()).toEqual(
      [
        "apiKey",
        "webhookKey",
        "fromEmail",
        "replyTo",
        "username",
        "fromName",
        "port",
        "transport",
        "unsubscribeMode",
      ].sort(),
    );
    for (const shown of [error.message, JSON.stringify(error), inspect(error, { depth: 10 })]) {
      expect(shown).not.toContain(secret);
    }
  });

  it("never echoes a webhook key pasted where a webhook key id belongs (removeWebhookKeys)", async () => {
    // Known bug: settings-input.ts quotes the unknown id (up to 40 characters) in the field message,
    // so a webhook key pasted instead of its id comes back in the error and the 422 body.
    const credentials = service();
    await credentials.save("acme", { ...VALID, webhookKey: HOOK_1 });
    const error = await validationError(credentials.save("acme", { removeWebhookKeys: [HOOK_1] }));
    expect(fieldNames(error)).toEqual(["removeWebhookKeys"]);
    expect(error.message).not.toContain(HOOK_1);
    expect(JSON.stringify(error.fields)).not.toContain(HOOK_1);
  });
});

describe("write-only secrets", () => {
  it('keeps the stored API key when apiKey is "" (an untouched form field)', async () => {
    const credentials = service();
    await credentials.save("acme", VALID);
    expect((await credentials.save("acme", { apiKey: "" })).hasApiKey).toBe(true);
    expect((await credentials.get("acme"))?.apiKey?.reveal()).toBe(API_KEY);
  });

  it("replaces the API key when a new one is sent", async () => {
    const credentials = service();
    await credentials.save("acme", VALID);
    expect((await credentials.save("acme", { apiKey: NEW_API_KEY })).apiKey).toBe(
      `••••${NEW_API_KEY.slice(-4)}`,
    );
    expect((await credentials.get("acme"))?.apiKey?.reveal()).toBe(NEW_API_KEY);
  });

  it("apiKey null removes the key, which validation then requires", async () => {
    const credentials = service();
    await credentials.save("acme", VALID);
    const error = await validationError(credentials.save("acme", { apiKey: null }));
    expect(fieldNames(error)).toEqual(["apiKey"]);
    expect((await credentials.get("acme"))?.apiKey?.reveal()).toBe(API_KEY);
  });
});

describe("webhook keys", () => {
  it("makes the first webhook key the current one", async () => {
    const credentials = service();
    const view = await credentials.save("acme", { ...VALID, webhookKey: HOOK_1 });
    expect(view.webhookKeys.map((k) => k.current)).toEqual([true]);
    expect((await credentials.webhookKeys("acme")).map((k) => k.reveal())).toEqual([HOOK_1]);
  });

  it("makes a second key current and keeps accepting the first, current first", async () => {
    const credentials = service();
    await credentials.save("acme", { ...VALID, webhookKey: HOOK_1 });
    const view = await credentials.save("acme", { webhookKey: HOOK_2 });
    expect(view.webhookKeys.map((k) => [k.masked, k.current])).toEqual([
      [`••••${HOOK_2.slice(-4)}`, true],
      [`••••${HOOK_1.slice(-4)}`, false],
    ]);
    expect((await credentials.webhookKeys("acme")).map((k) => k.reveal())).toEqual([HOOK_2, HOOK_1]);
  });

  it("removeWebhookKeys drops the named key and keeps the others", async () => {
    const credentials = service();
    const first = await credentials.save("acme", { ...VALID, webhookKey: HOOK_1 });
    await credentials.save("acme", { webhookKey: HOOK_2 });
    const id = first.webhookKeys[0]?.id as string;
    const view = await credentials.save("acme", { removeWebhookKeys: [id] });
    expect(view.webhookKeys.map((k) => k.id)).not.toContain(id);
    expect((await credentials.webhookKeys("acme")).map((k) => k.reveal())).toEqual([HOOK_2]);
  });

  it("refuses to remove an unknown key id with a field error", async () => {
    const credentials = service();
    await credentials.save("acme", { ...VALID, webhookKey: HOOK_1 });
    const error = await validationError(credentials.save("acme", { removeWebhookKeys: ["no-such-id"] }));
    expect(fieldNames(error)).toEqual(["removeWebhookKeys"]);
    expect((await credentials.webhookKeys("acme")).map((k) => k.reveal())).toEqual([HOOK_1]);
  });

  it("accepts 5 webhook keys and refuses a 6th", async () => {
    const credentials = service();
    await credentials.save("acme", { ...VALID, webhookKey: "whk-rotation-key-1" });
    for (const n of [2, 3, 4, 5]) await credentials.save("acme", { webhookKey: `whk-rotation-key-${n}` });
    expect(await credentials.webhookKeys("acme")).toHaveLength(5);
    const error = await validationError(credentials.save("acme", { webhookKey: "whk-rotation-key-6" }));
    expect(fieldNames(error)).toEqual(["webhookKey"]);
    expect((await credentials.webhookKeys("acme")).map((k) => k.reveal())).toEqual([
      "whk-rotation-key-5",
      "whk-rotation-key-4",
      "whk-rotation-key-3",
      "whk-rotation-key-2",
      "whk-rotation-key-1",
    ]);
  });

  it("returns no webhook keys for an account without settings", async () => {
    expect(await service().webhookKeys("nobody")).toEqual([]);
  });
});

describe("versions, delete, list and verification", () => {
  it("rejects a save with a stale expectedVersion with ERR_MK_STORE_CONFLICT", async () => {
    const credentials = service();
    await credentials.save("acme", VALID);
    await credentials.save("acme", { fromName: "Second" }, { expectedVersion: 1 });
    const error = await rejectionOf(credentials.save("acme", { fromName: "Third" }, { expectedVersion: 1 }));
    expect(error.code).toBe("ERR_MK_STORE_CONFLICT");
    expect((await credentials.describe("acme"))?.fromName).toBe("Second");
  });

  it("rejects creating with expectedVersion other than 0", async () => {
    const error = await rejectionOf(service().save("acme", VALID, { expectedVersion: 3 }));
    expect(error.code).toBe("ERR_MK_STORE_CONFLICT");
  });

  it("deletes an account's settings, then reports there is nothing to delete", async () => {
    const credentials = service();
    await credentials.save("acme", VALID);
    expect(await credentials.delete("acme")).toBe(true);
    expect(await credentials.describe("acme")).toBeUndefined();
    expect(await credentials.get("acme")).toBeUndefined();
    expect(await credentials.delete("acme")).toBe(false);
  });

  it("lists accounts in order with what they have, without secrets", async () => {
    const credentials = service();
    await credentials.save("globex", { ...VALID, transport: "api", webhookKey: HOOK_1 });
    await credentials.save("acme", VALID);
    const page = await credentials.list();
    expect(page.items).toEqual([
      {
        account: "acme",
        transport: "smtp",
        fromEmail: "hello@example.com",
        hasApiKey: true,
        hasWebhookKey: false,
        lastVerification: null,
        updatedAt: expect.any(Number),
      },
      {
        account: "globex",
        transport: "api",
        fromEmail: "hello@example.com",
        hasApiKey: true,
        hasWebhookKey: true,
        lastVerification: null,
        updatedAt: expect.any(Number),
      },
    ]);
    expect(page.next).toBeNull();
    expect(JSON.stringify(page)).not.toContain(API_KEY);
    await credentials.delete("acme");
    expect((await credentials.list()).items.map((i) => i.account)).toEqual(["globex"]);
  });

  it("stores the last verification and shows it in describe() and get()", async () => {
    const credentials = service();
    await credentials.save("acme", VALID);
    await credentials.get("acme");
    const result = { at: 1_700_000_000_000, ok: false, summary: "Mandrill says the API key is invalid" };
    await credentials.recordVerification("acme", result);
    expect((await credentials.describe("acme"))?.lastVerification).toEqual(result);
    expect((await credentials.get("acme"))?.lastVerification).toEqual(result);
    // A later save keeps it.
    await credentials.save("acme", { fromName: "Renamed" });
    expect((await credentials.describe("acme"))?.lastVerification).toEqual(result);
  });

  it("refuses to record a verification for an account without settings", async () => {
    const error = await rejectionOf(
      service().recordVerification("nobody", { at: Date.now(), ok: true, summary: "ok" }),
    );
    expect(error.code).toBe("ERR_MK_NOT_FOUND");
  });

  it("refuses an invalid account id", async () => {
    const error = await rejectionOf(service().save("../etc", VALID));
    expect(error.code).toBe("ERR_MK_ACCOUNT_INVALID");
  });
});

describe("cache of decrypted settings", () => {
  async function seeded(cacheTtlMs?: number) {
    const counting = countingStore();
    const clock = manualClock();
    // The writer stands for another instance: it uses the same data without going through the counter.
    const writer = service({ store: counting.inner, cacheTtlMs: 0, clock });
    await writer.save("acme", { ...VALID, webhookKey: HOOK_1 });
    const reader = service({
      store: counting.store,
      clock,
      ...(cacheTtlMs === undefined ? {} : { cacheTtlMs }),
    });
    return { reader, writer, reads: counting.reads, clock };
  }

  it("serves a second get() without reading the store", async () => {
    const { reader, reads } = await seeded();
    const first = await reader.get("acme");
    const second = await reader.get("acme");
    expect(second).toBe(first);
    expect(reads()).toBe(1);
  });

  it("shares one store read between concurrent get() misses", async () => {
    const { reader, reads } = await seeded();
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => reader.get("acme")));
    expect(reads()).toBe(1);
    for (const r of results) expect(r).toBe(results[0]);
  });

  it("shows a save through the same service at once", async () => {
    const { reader } = await seeded();
    await reader.get("acme");
    await reader.save("acme", { fromName: "Changed", apiKey: NEW_API_KEY });
    const after = await reader.get("acme");
    expect(after?.fromName).toBe("Changed");
    expect(after?.apiKey?.reveal()).toBe(NEW_API_KEY);
  });

  it("shows a delete through the same service at once", async () => {
    const { reader } = await seeded();
    expect(await reader.get("acme")).toBeDefined();
    await reader.delete("acme");
    expect(await reader.get("acme")).toBeUndefined();
    expect(await reader.webhookKeys("acme")).toEqual([]);
  });

  it("reads the store on every get() with cacheTtlMs 0, seeing other instances' changes", async () => {
    const { reader, writer, reads } = await seeded(0);
    await reader.get("acme");
    await reader.get("acme");
    expect(reads()).toBe(2);
    await writer.save("acme", { fromName: "From elsewhere" });
    expect((await reader.get("acme"))?.fromName).toBe("From elsewhere");
  });

  it("keeps serving the cached settings until the TTL has passed, then reads the store again", async () => {
    const { reader, writer, reads, clock } = await seeded(100);
    await reader.get("acme");
    await writer.save("acme", { fromName: "From elsewhere" });
    clock.advance(99);
    expect((await reader.get("acme"))?.fromName).toBe("Acme Support");
    expect(reads()).toBe(1);
    clock.advance(1);
    expect((await reader.get("acme"))?.fromName).toBe("From elsewhere");
    expect(reads()).toBe(2);
  });

  it("stamps saves with the time of its clock", async () => {
    const clock = manualClock(Date.UTC(2030, 5, 1));
    const credentials = service({ clock });
    const created = await credentials.save("acme", { ...VALID, webhookKey: HOOK_1 });
    expect(created).toMatchObject({ createdAt: Date.UTC(2030, 5, 1), updatedAt: Date.UTC(2030, 5, 1) });
    expect(created.webhookKeys[0]?.addedAt).toBe(Date.UTC(2030, 5, 1));
    clock.advance(60_000);
    const updated = await credentials.save("acme", { fromName: "Later" });
    expect(updated).toMatchObject({
      createdAt: Date.UTC(2030, 5, 1),
      updatedAt: Date.UTC(2030, 5, 1) + 60_000,
    });
  });

  it("invalidate() drops the cached settings", async () => {
    const { reader, writer, reads } = await seeded();
    await reader.get("acme");
    await writer.save("acme", { fromName: "From elsewhere" });
    reader.invalidate("acme");
    expect((await reader.get("acme"))?.fromName).toBe("From elsewhere");
    expect(reads()).toBe(2);
  });

  it("returns frozen settings that callers cannot alter", async () => {
    const credentials = service();
    await credentials.save("acme", { ...VALID, webhookKey: HOOK_1 });
    const settings = await credentials.get("acme");
    if (settings === undefined) throw new Error("settings missing");
    expect(Object.isFrozen(settings)).toBe(true);
    expect(Object.isFrozen(settings.webhookKeys)).toBe(true);
    expect(() => {
      (settings as { fromEmail: string }).fromEmail = "attacker@example.net";
    }).toThrow(TypeError);
    expect(() => {
      (settings.webhookKeys as unknown[]).pop();
    }).toThrow(TypeError);
    expect((await credentials.get("acme"))?.fromEmail).toBe("hello@example.com");
  });
});

describe("createCredentials options", () => {
  it("refuses an unknown option and suggests the likely one", () => {
    const error = configError(() =>
      createCredentials({
        store: createMemoryStore(),
        keys: KEYS,
        publicUrl: PUBLIC_URL,
        cacheTTLMs: 10,
      } as unknown as CredentialsOptions),
    );
    expect(error.code).toBe("ERR_MK_CONFIG_UNKNOWN_OPTION");
    expect(error.option).toBe("cacheTTLMs");
    expect(error.message).toContain('Did you mean "cacheTtlMs"?');
  });

  it.each([
    ["without a scheme", "app.example.com"],
    ["with a query", "https://app.example.com/?tenant=1"],
    ["with a fragment", "https://app.example.com/#settings"],
    ["with another scheme", "ftp://app.example.com"],
  ])("refuses a publicUrl %s, quoting it", (_what, publicUrl) => {
    const error = configError(() => service({ publicUrl }));
    expect(error.code).toBe("ERR_MK_CONFIG_INVALID");
    expect(error.option).toBe("publicUrl");
    expect(error.message).toContain(JSON.stringify(publicUrl));
    expect(error.message).toContain("https://app.example.com");
  });

  it.each([
    ["without :account", "/webhooks/mandrill"],
    ["with :account twice", "/:account/webhooks/:account"],
    ["not starting with /", "webhooks/mandrill/:account"],
  ])("refuses a webhookPath %s", (_what, webhookPath) => {
    const error = configError(() => service({ webhookPath }));
    expect(error.code).toBe("ERR_MK_CONFIG_INVALID");
    expect(error.option).toBe("webhookPath");
    expect(error.message).toContain(":account");
  });

  it("refuses to start without a store", () => {
    const error = configError(() =>
      createCredentials({ keys: KEYS, publicUrl: PUBLIC_URL } as unknown as CredentialsOptions),
    );
    expect(error.code).toBe("ERR_MK_CONFIG_INVALID");
    expect(error.option).toBe("store");
    expect(error.message).toContain("openSqliteStore");
  });

  it("refuses a negative cacheTtlMs", () => {
    const error = configError(() => service({ cacheTtlMs: -1 }));
    expect(error.option).toBe("cacheTtlMs");
  });

  it.each([
    ["a function", () => Date.now()],
    ["an object without now()", { time: 1 }],
  ])("refuses a clock that is %s, saying what a clock is", (_what, clock) => {
    const error = configError(() => service({ clock: clock as unknown as CredentialsOptions["clock"] }));
    expect(error.code).toBe("ERR_MK_CONFIG_INVALID");
    expect(error.option).toBe("clock");
    expect(error.message).toContain("now()");
  });

  it("explains a factory passed where its options belong", () => {
    const error = configError(() => createCredentials(createMemoryStore as unknown as CredentialsOptions));
    expect(error.code).toBe("ERR_MK_CONFIG_INVALID");
    expect(error.message).toContain("without calling it");
  });
});
