import { createSender, mandrillSender } from "@mandrill-kit/sender";
import { describe, expect, it } from "vitest";

const SECRET = "unsubscribe-secret-0123456789abcdefghijklmnop";

describe("options are checked when the factory is called (a typo fails at boot)", () => {
  it.each([
    [
      { api: { baseURL: "https://mandrillapp.com/api/1.0/" } },
      "ERR_MK_CONFIG_UNKNOWN_OPTION",
      /Did you mean "api\.baseUrl"/,
    ],
    [
      { smtp: { conectionTimeoutMs: 5000 } },
      "ERR_MK_CONFIG_UNKNOWN_OPTION",
      /Did you mean "smtp\.connectionTimeoutMs"/,
    ],
    [
      { unsubscribe: { secret: SECRET, fotter: false } },
      "ERR_MK_CONFIG_UNKNOWN_OPTION",
      /unsubscribe\.footer/,
    ],
    [{ network: { allowPrivat: true } }, "ERR_MK_CONFIG_UNKNOWN_OPTION", /network\.allowPrivate/],
    [{ unsubscribe: { secret: "too short" } }, "ERR_MK_CONFIG_INVALID", /at least 32 characters/],
    [
      { unsubscribe: { secret: SECRET, concurrency: 0 } },
      "ERR_MK_CONFIG_INVALID",
      /unsubscribe\.concurrency/,
    ],
    [{ unsubscribe: { secret: SECRET, mailto: "not mail" } }, "ERR_MK_CONFIG_INVALID", /unsubscribe\.mailto/],
    [{ api: { maxAttempts: 0 } }, "ERR_MK_CONFIG_INVALID", /api\.maxAttempts must be a whole number/],
    [{ api: { requestTimeoutMs: "30s" } }, "ERR_MK_CONFIG_INVALID", /api\.requestTimeoutMs/],
    [
      { api: { baseUrl: "mandrillapp.com" } },
      "ERR_MK_CONFIG_INVALID",
      /api\.baseUrl must be an http\(s\) URL/,
    ],
    [{ smtp: { route: "smtp.example.com" } }, "ERR_MK_CONFIG_INVALID", /smtp\.route must be a function/],
    [{ clock: Date.now }, "ERR_MK_CONFIG_INVALID", /clock must be an object with now\(\)/],
    [{ logger: console.log }, "ERR_MK_CONFIG_INVALID", /logger must be a logger/],
  ])("mandrillSender(%j) throws %s", (options, code, message) => {
    // No kit, no store: the mistake is found before anything else is needed.
    const attempt = () => mandrillSender(options as Parameters<typeof mandrillSender>[0]);
    expect(attempt).toThrow(expect.objectContaining({ code }));
    expect(attempt).toThrow(message);
    expect(() => createSender(options as Parameters<typeof createSender>[0])).toThrow(
      expect.objectContaining({ code }),
    );
  });

  it("does not take context in mandrillSender() (the kit's comes from the request)", () => {
    expect(() => mandrillSender({ context: {} } as Parameters<typeof mandrillSender>[0])).toThrow(
      expect.objectContaining({ code: "ERR_MK_CONFIG_UNKNOWN_OPTION" }),
    );
  });
});
