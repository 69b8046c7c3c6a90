import { isAccountId, MandrillKitValidationError, requireAccountId } from "@mandrill-kit/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const ALNUM = "ABCXYZabcxyz0189".split("");
const ALLOWED = [...ALNUM, "_", ".", "-"];

const NOT_DOT = [...ALNUM, "_", "-"];

/** Valid ids built from the rules: alnum first, then up to 127 allowed characters, never "..". */
const validId = fc
  .tuple(
    fc.constantFrom(...ALNUM),
    fc.array(
      fc.oneof(
        fc.constantFrom(...NOT_DOT),
        fc.constantFrom(...NOT_DOT).map((c) => `.${c}`),
      ),
      { maxLength: 63 },
    ),
    fc.constantFrom("", "."),
  )
  .map(([first, rest, end]) => first + rest.join("") + end);

describe("isAccountId", () => {
  it.each([
    ["a single letter", "a"],
    ["a single digit", "7"],
    ["letters, digits, underscore, dot and hyphen", "Acme_Corp-2.eu"],
    ["128 characters", "a".repeat(128)],
    ["a trailing dot", "acme."],
    ["single dots between parts", "a.b.c"],
  ])("accepts %s", (_label, id) => {
    expect(isAccountId(id)).toBe(true);
  });

  it.each([
    ["an empty string", ""],
    ["129 characters", "a".repeat(129)],
    ["a leading underscore", "_acme"],
    ["a leading hyphen", "-acme"],
    ["a leading dot", ".acme"],
    ["two dots in a row", "acme..eu"],
    ["a path traversal", "../etc"],
    ["a slash", "acme/eu"],
    ["a space", "acme eu"],
    ["a trailing newline", "acme\n"],
    ["a colon", "acme:eu"],
    ["a non-ASCII letter", "acmé"],
    ["a percent-encoding", "acme%2Feu"],
  ])("rejects %s", (_label, id) => {
    expect(isAccountId(id)).toBe(false);
  });

  it.each([
    ["undefined", undefined],
    ["null", null],
    ["a number", 42],
    ["an array", ["acme"]],
  ])("rejects %s", (_label, id) => {
    expect(isAccountId(id)).toBe(false);
  });

  it("accepts every id that follows the rules", () => {
    fc.assert(
      fc.property(validId, (id) => {
        expect(isAccountId(id)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("agrees with the documented rules for any string", () => {
    const rules = (id: string) =>
      id.length >= 1 &&
      id.length <= 128 &&
      /^[A-Za-z0-9]/.test(id) &&
      /^[A-Za-z0-9_.-]*$/.test(id) &&
      !id.includes("..");
    const nearlyValid = fc.string({
      unit: fc.constantFrom(...ALLOWED, "/", " ", "é", "\n", ":"),
      maxLength: 140,
    });
    fc.assert(
      fc.property(fc.oneof(nearlyValid, fc.string({ unit: "binary" }), validId), (id) => {
        expect(isAccountId(id)).toBe(rules(id));
      }),
      { numRuns: 300 },
    );
  });

  it("is case-sensitive and never alters the id", () => {
    expect(requireAccountId("Acme")).toBe("Acme");
    expect(requireAccountId("acme")).toBe("acme");
  });
});

describe("requireAccountId", () => {
  it("returns a valid id unchanged", () => {
    expect(requireAccountId("Acme_Corp-2.eu")).toBe("Acme_Corp-2.eu");
  });

  it("throws ERR_MK_ACCOUNT_INVALID naming the field and quoting the value", () => {
    let caught: unknown;
    try {
      requireAccountId("../etc", "accountId");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MandrillKitValidationError);
    const error = caught as MandrillKitValidationError;
    expect(error.code).toBe("ERR_MK_ACCOUNT_INVALID");
    expect(error.fields).toEqual([{ field: "accountId", message: expect.any(String) }]);
    expect(error.message).toContain("accountId");
    expect(error.message).toContain('"../etc"');
  });

  it('names the field "account" when no field is given', () => {
    expect(() => requireAccountId("")).toThrowError(
      expect.objectContaining({
        code: "ERR_MK_ACCOUNT_INVALID",
        fields: [expect.objectContaining({ field: "account" })],
      }),
    );
  });

  it("says what type it received when given something that is not a string", () => {
    expect(() => requireAccountId(undefined)).toThrowError(/undefined/);
  });
});
