import { createMemoryStore, type Store } from "@mandrill-kit/core";
import {
  createDispatcher,
  type DispatcherOptions,
  type MandrillWebhooksOptions,
  mandrillWebhooks,
} from "@mandrill-kit/webhooks";
import { afterEach, describe, expect, it } from "vitest";

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});
function store(): Store {
  const s = createMemoryStore();
  stores.push(s);
  return s;
}

const invalid = (message: RegExp) =>
  expect.objectContaining({ code: "ERR_MK_CONFIG_INVALID", message: expect.stringMatching(message) });

describe("dispatch options are checked when the factory is called", () => {
  it.each<[string, Partial<DispatcherOptions>, RegExp]>([
    [
      "a zero concurrency",
      { concurrency: 0 },
      /concurrency must be an integer from 1 to 200; received 0\. .*\{ concurrency: 4 \}/,
    ],
    [
      "a fractional maxAttempts",
      { maxAttempts: 2.5 },
      /maxAttempts must be an integer from 1 to 100; received 2\.5/,
    ],
    [
      "a string handlerTimeoutMs",
      { handlerTimeoutMs: "30s" as unknown as number },
      /handlerTimeoutMs .*received "30s"/,
    ],
    ["a NaN pollIntervalMs", { pollIntervalMs: Number.NaN }, /pollIntervalMs .*received NaN/],
    ["a negative retryBaseMs", { retryBaseMs: -1 }, /retryBaseMs .*received -1/],
    [
      "retryMaxMs below retryBaseMs",
      { retryBaseMs: 5000, retryMaxMs: 1000 },
      /retryMaxMs \(1000\) is smaller than retryBaseMs \(5000\).*Raise retryMaxMs/,
    ],
  ])("createDispatcher() refuses %s, quoting it and saying the fix", (_what, options, message) => {
    expect(() => createDispatcher({ store: store(), ...options })).toThrow(invalid(message));
  });

  it("mandrillWebhooks() refuses the same at boot, before any request or start()", () => {
    expect(() => mandrillWebhooks({ concurrency: 1000 })).toThrow(
      invalid(/mandrillWebhooks\(\) option concurrency .*received 1000/),
    );
    expect(() => mandrillWebhooks({ handlerTimeoutMs: 0 })).toThrow(invalid(/handlerTimeoutMs/));
  });

  it("createDispatcher() refuses a missing store and unknown options", () => {
    expect(() => createDispatcher({} as DispatcherOptions)).toThrow(invalid(/needs \{ store \}/));
    expect(() => createDispatcher({ store: store(), pollInterval: 10 } as DispatcherOptions)).toThrow(
      expect.objectContaining({
        code: "ERR_MK_CONFIG_UNKNOWN_OPTION",
        message: expect.stringMatching(/pollIntervalMs/),
      }),
    );
  });
});

describe("router options are checked when the factory is called", () => {
  it.each<[string, MandrillWebhooksOptions, RegExp]>([
    [
      "a bodyTimeoutMs under 100 ms",
      { bodyTimeoutMs: 10 },
      /bodyTimeoutMs must be an integer from 100 to 600000; received 10/,
    ],
    ["a bodyLimitBytes under 1 KiB", { bodyLimitBytes: 100 }, /bodyLimitBytes .*received 100/],
    [
      "a webhookKeys that is not a function",
      { webhookKeys: ["whk-1"] as never },
      /webhookKeys must be a function/,
    ],
    ["a clock without now()", { clock: {} as never }, /clock must be an object with a now\(\) method/],
    [
      "a relative publicUrl",
      { publicUrl: "app.example.com" },
      /absolute http\(s\) URL.*received "app\.example\.com"/,
    ],
  ])("mandrillWebhooks() refuses %s", (_what, options, message) => {
    expect(() => mandrillWebhooks(options)).toThrow(invalid(message));
  });
});
