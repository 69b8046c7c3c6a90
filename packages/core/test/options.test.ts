import { checkOptions, didYouMean } from "@mandrill-kit/core/plugin";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { configError } from "./helpers.js";

const KNOWN = ["store", "logger", "publicUrl", "bodyLimitBytes", "webhookKeys", "suppression"] as const;

describe("checkOptions", () => {
  it("returns the options when every key is known", () => {
    const options = { store: {}, publicUrl: "https://example.com/hooks" };
    expect(checkOptions("mandrillWebhooks", options, KNOWN)).toBe(options);
  });

  it("treats missing options as empty", () => {
    expect(checkOptions("mandrillWebhooks", undefined, KNOWN)).toEqual({});
  });

  it("rejects an unknown option, naming it and suggesting the likely one", () => {
    const error = configError(() =>
      checkOptions("mandrillWebhooks", { publicURL: "https://example.com" }, KNOWN),
    );
    expect(error.code).toBe("ERR_MK_CONFIG_UNKNOWN_OPTION");
    expect(error.option).toBe("publicURL");
    expect(error.message).toContain("mandrillWebhooks()");
    expect(error.message).toContain('"publicURL"');
    expect(error.message).toContain('Did you mean "publicUrl"?');
  });

  it.each([
    ["a typo", "loger", "logger"],
    ["a transposition", "webhookKyes", "webhookKeys"],
    ["a singular for a plural", "webhookKey", "webhookKeys"],
    ["a different case", "Store", "store"],
  ])("suggests the known option for %s", (_label, given, suggested) => {
    const error = configError(() => checkOptions("mandrillWebhooks", { [given]: 1 }, KNOWN));
    expect(error.message).toContain(`Did you mean "${suggested}"?`);
  });

  it("makes no suggestion when no known option is close, and lists the known ones", () => {
    const error = configError(() => checkOptions("mandrillWebhooks", { database: "./x.db" }, KNOWN));
    expect(error.code).toBe("ERR_MK_CONFIG_UNKNOWN_OPTION");
    expect(error.message).not.toContain("Did you mean");
    for (const name of KNOWN) expect(error.message).toContain(name);
  });

  it("rejects any unknown key and accepts any subset of the known ones", () => {
    fc.assert(
      fc.property(fc.subarray([...KNOWN]), fc.string({ minLength: 1, maxLength: 20 }), (known, extra) => {
        const options = Object.fromEntries(known.map((name) => [name, 1]));
        expect(checkOptions("f", options, KNOWN)).toBe(options);
        fc.pre(!(KNOWN as readonly string[]).includes(extra));
        const error = configError(() => checkOptions("f", { ...options, [extra]: 1 }, KNOWN));
        expect(error.code).toBe("ERR_MK_CONFIG_UNKNOWN_OPTION");
        expect(error.option).toBe(extra);
      }),
      { numRuns: 300 },
    );
  });

  it("says the factory was passed without being called when given a function", () => {
    function mandrillWebhooks() {
      return () => {};
    }
    const error = configError(() => checkOptions("mandrillWebhooks", mandrillWebhooks, KNOWN));
    expect(error.code).toBe("ERR_MK_CONFIG_INVALID");
    expect(error.message).toContain("factory without calling it");
    expect(error.message).toContain("app.use(mandrillWebhooks())");
  });

  it.each([
    ["null", null, "null"],
    ["an array", [{ store: {} }], "an array"],
    ["a string", "./data/mandrill.db", "string"],
    ["a number", 42, "number"],
    ["a boolean", true, "boolean"],
  ])("rejects %s as options, saying what it received", (_label, options, shown) => {
    const error = configError(() => checkOptions("openSqliteStore", options, KNOWN));
    expect(error.code).toBe("ERR_MK_CONFIG_INVALID");
    expect(error.option).toBe("options");
    expect(error.message).toContain("openSqliteStore()");
    expect(error.message).toContain(shown);
  });
});

describe("didYouMean", () => {
  it("suggests the closest known name", () => {
    expect(didYouMean("loggr", KNOWN)).toBe("logger");
    expect(didYouMean("suppresion", KNOWN)).toBe("suppression");
  });

  it("suggests nothing for an unrelated name", () => {
    expect(didYouMean("zzzzzz", KNOWN)).toBeUndefined();
    expect(didYouMean("x", [])).toBeUndefined();
  });

  it("suggests a known name given exactly", () => {
    fc.assert(
      fc.property(fc.constantFrom(...KNOWN), (name) => {
        expect(didYouMean(name, KNOWN)).toBe(name);
      }),
      { numRuns: 20 },
    );
  });
});
