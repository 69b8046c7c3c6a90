import { createMemoryStore, type KitContext } from "@mandrill-kit/core";
import { manualClock } from "@mandrill-kit/core/testing";
import {
  addKey,
  MandrillKitConfigError,
  type MandrillKitOptions,
  mandrillKit,
} from "@mandrill-kit/credentials";
import { describe, expect, it } from "vitest";

const KEYS = addKey(undefined, "k1");
const OPTIONS: MandrillKitOptions = {
  store: createMemoryStore(),
  keys: KEYS,
  publicUrl: "https://app.example.com/",
};

function bootError(options: unknown): MandrillKitConfigError {
  try {
    mandrillKit(options as MandrillKitOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(MandrillKitConfigError);
    return error as MandrillKitConfigError;
  }
  throw new Error("expected mandrillKit() to throw at boot, it returned a middleware");
}

describe("mandrillKit() checks its options when it is called", () => {
  it.each([
    ["publicURL", "publicUrl"],
    ["cacheTtl", "cacheTtlMs"],
    ["supression", "suppression"],
    ["webhookPth", "webhookPath"],
  ])("refuses the typo %s and suggests %s", (typo, meant) => {
    const error = bootError({ ...OPTIONS, [typo]: "x" });
    expect(error.code).toBe("ERR_MK_CONFIG_UNKNOWN_OPTION");
    expect(error.option).toBe(typo);
    expect(error.message).toContain(`mandrillKit() does not know the option "${typo}"`);
    expect(error.message).toContain(`Did you mean "${meant}"?`);
  });

  it("names itself, not createCredentials, when the store is missing", () => {
    const error = bootError({ keys: KEYS, publicUrl: OPTIONS.publicUrl });
    expect(error.option).toBe("store");
    expect(error.message).toMatch(/^mandrillKit\(\) needs store/);
    expect(error.message).toContain("openSqliteStore");
  });

  it("quotes a bad publicUrl and shows a good one", () => {
    const error = bootError({ ...OPTIONS, publicUrl: "app.example.com" });
    expect(error.option).toBe("publicUrl");
    expect(error.message).toContain('"app.example.com"');
    expect(error.message).toContain("https://app.example.com");
  });

  it("refuses a bad suppression policy value, quoting it", () => {
    const error = bootError({ ...OPTIONS, suppression: { spamForMs: -5 } });
    expect(error.option).toBe("suppression.spamForMs");
    expect(error.message).toContain("-5");
  });

  it("refuses a logger without the four methods, quoting what it got", () => {
    const error = bootError({ ...OPTIONS, logger: "pino" });
    expect(error.option).toBe("logger");
    expect(error.message).toContain('"pino"');
    expect(error.message).toContain("debug, info, warn and error");
  });

  it("refuses a key set with no key before anything runs (ERR_MK_CONFIG_KEYS)", () => {
    const error = bootError({ ...OPTIONS, keys: { keys: [] } });
    expect(error.code).toBe("ERR_MK_CONFIG_KEYS");
  });

  it("registers the public URL without its trailing slash, and the clock it was given", async () => {
    const clock = manualClock(Date.UTC(2031, 0, 1));
    const kit = mandrillKit({ ...OPTIONS, store: createMemoryStore(), clock });
    const context: KitContext = kit.context;
    expect(context.publicUrl).toBe("https://app.example.com");
    expect(context.webhookPath).toBe("/webhooks/mandrill/:account");
    const saved = await kit.credentials.save("acme", {
      transport: "api",
      apiKey: "md-KitTestApiKey-0123456789",
      fromEmail: "hello@example.com",
    });
    expect(saved.createdAt).toBe(Date.UTC(2031, 0, 1));
    expect(saved.callbackUrl).toBe("https://app.example.com/webhooks/mandrill/acme");
  });
});
