import { isEmail, MandrillKitValidationError, normalizeEmail, requireEmail } from "@mandrill-kit/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const RUNS = { numRuns: 300 };

/** ASCII addresses that every mail system accepts (fast-check's RFC 5322 generator, length-bounded). */
const asciiAddress = fc.emailAddress().filter((address) => address.length <= 254);

/** JavaScript's own white space, as `String.prototype.trim` removes it. */
const surroundingSpace = fc
  .array(fc.constantFrom(" ", "\t", "\n", "\r", "\u00a0", "\u2003", "\ufeff"), { maxLength: 4 })
  .map((chars) => chars.join(""));

/** Domains with non-ASCII labels (internationalised domain names). */
const idnLabel = fc
  .oneof(
    fc.string({
      unit: fc.constantFrom("a", "b", "z", "0", "ü", "é", "ß", "ø", "Å"),
      minLength: 1,
      maxLength: 12,
    }),
    fc.string({ unit: fc.constantFrom("ж", "ш", "д", "Ж"), minLength: 1, maxLength: 12 }),
    fc.string({ unit: fc.constantFrom("中", "文", "网"), minLength: 1, maxLength: 6 }),
  )
  .filter((label) => /\P{ASCII}/u.test(label));
const asciiLabel = fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/);

describe("normalizeEmail", () => {
  it("lower-cases the address and removes surrounding white space", () => {
    expect(normalizeEmail("  Alice.Smith@Example.ORG\n")).toBe("alice.smith@example.org");
  });

  it("removes one pair of angle brackets around a bare address", () => {
    expect(normalizeEmail("<bob@example.com>")).toBe("bob@example.com");
    expect(normalizeEmail(" < bob@example.com > ")).toBe("bob@example.com");
  });

  it("keeps plus-addressing and dots in the local part", () => {
    expect(normalizeEmail("Bob+Newsletter@example.com")).toBe("bob+newsletter@example.com");
    expect(normalizeEmail("b.o.b@example.com")).toBe("b.o.b@example.com");
    expect(normalizeEmail("bob+a@example.com")).not.toBe(normalizeEmail("bob+b@example.com"));
  });

  it("converts an internationalised domain to its punycode form", () => {
    expect(normalizeEmail("kunde@bücher.example")).toBe("kunde@xn--bcher-kva.example");
    expect(normalizeEmail("kunde@BÜCHER.example")).toBe("kunde@xn--bcher-kva.example");
    expect(normalizeEmail("kunde@xn--bcher-kva.example")).toBe("kunde@xn--bcher-kva.example");
  });

  it("drops a trailing dot on the domain", () => {
    expect(normalizeEmail("bob@example.com.")).toBe("bob@example.com");
  });

  it("keeps a non-ASCII local part, in NFC", () => {
    // "é" written as e + combining acute accent, and precomposed: one mailbox.
    expect(normalizeEmail("Jose\u0301@example.com")).toBe("jos\u00e9@example.com");
    expect(normalizeEmail("JOS\u00c9@example.com")).toBe("jos\u00e9@example.com");
  });

  it.each([
    ["an empty string", ""],
    ["white space only", "   "],
    ["no @", "bob.example.com"],
    ["an empty local part", "@example.com"],
    ["an empty domain", "bob@"],
    ["two addresses separated by a comma", "a@example.com, b@example.com"],
    ["two addresses separated by a comma without space", "a@example.com,b@example.com"],
    ["two addresses separated by a semicolon", "a@example.com;b@example.com"],
    ["a display name", "Bob <bob@example.com>"],
    ["a quoted display name", '"Bob" <bob@example.com>'],
    ["a space inside the local part", "bob smith@example.com"],
    ["a space inside the domain", "bob@exa mple.com"],
    ["a single-label domain", "a@localhost"],
    ["a domain that is only a dot", "bob@."],
    ["an empty domain label", "bob@example..com"],
    ["a domain label starting with a hyphen", "bob@-example.com"],
    ["an underscore in the domain", "bob@ex_ample.com"],
    ["an address literal", "bob@[192.0.2.1]"],
    ["a local part starting with a dot", ".bob@example.com"],
    ["a local part ending with a dot", "bob.@example.com"],
    ["two dots in a row in the local part", "bo..b@example.com"],
    ["a quoted local part", '"bob smith"@example.com'],
    ["an unbalanced angle bracket", "<bob@example.com"],
    ["a local part longer than 64 characters", `${"a".repeat(65)}@example.com`],
    [
      "an address longer than 254 characters",
      `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}.com`,
    ],
    ["a domain label longer than 63 characters", `bob@${"a".repeat(64)}.com`],
  ])("rejects %s", (_label, input) => {
    expect(normalizeEmail(input)).toBeUndefined();
    expect(isEmail(input)).toBe(false);
  });

  it.each([
    ["undefined", undefined],
    ["null", null],
    ["a number", 42],
    ["an object", { email: "bob@example.com" }],
    ["an array of one address", ["bob@example.com"]],
    ["a String object", Object("bob@example.com")],
  ])("returns undefined for %s", (_label, input) => {
    expect(normalizeEmail(input)).toBeUndefined();
    expect(isEmail(input)).toBe(false);
  });

  it("never throws, whatever it is given", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), fc.anything()),
        (input) => {
          const result = normalizeEmail(input);
          expect(result === undefined || typeof result === "string").toBe(true);
        },
      ),
      RUNS,
    );
  });

  it("never throws on strings shaped like addresses", () => {
    const part = fc.string({ unit: "binary", maxLength: 12 });
    fc.assert(
      fc.property(part, part, part, (local, left, right) => {
        const result = normalizeEmail(`${local}@${left}.${right}`);
        expect(result === undefined || typeof result === "string").toBe(true);
      }),
      RUNS,
    );
  });

  it("is idempotent", () => {
    const part = fc.string({
      unit: fc.constantFrom(
        "a",
        "Z",
        "0",
        ".",
        "-",
        "+",
        "_",
        "é",
        "É",
        "İ",
        "ß",
        "ẞ",
        "K",
        "Ω",
        "ς",
        "\u0301",
        "ｅ",
        "ü",
        "😀",
      ),
      maxLength: 10,
    });
    const shaped = fc.tuple(part, part, part).map(([local, left, right]) => `${local}@${left}.${right}`);
    fc.assert(
      fc.property(fc.oneof(shaped, asciiAddress, fc.string({ unit: "binary" })), (input) => {
        const once = normalizeEmail(input);
        if (once !== undefined) expect(normalizeEmail(once)).toBe(once);
      }),
      RUNS,
    );
  });

  it("accepts every ordinary ASCII address", () => {
    fc.assert(
      fc.property(asciiAddress, (address) => {
        expect(normalizeEmail(address)).toBe(address.toLowerCase());
      }),
      RUNS,
    );
  });

  it("gives one result for an address whatever its case and surrounding white space", () => {
    fc.assert(
      fc.property(asciiAddress, surroundingSpace, surroundingSpace, (address, before, after) => {
        const expected = normalizeEmail(address);
        expect(expected).toBeDefined();
        expect(normalizeEmail(`${before}${address.toUpperCase()}${after}`)).toBe(expected);
        expect(normalizeEmail(`${before}${address.toLowerCase()}${after}`)).toBe(expected);
      }),
      RUNS,
    );
  });

  it("treats an internationalised domain and its punycode form as the same mailbox", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(idnLabel, asciiLabel), { minLength: 1, maxLength: 3 }),
        asciiLabel,
        (labels, tld) => {
          const domain = [...labels, tld].join(".");
          // The WHATWG URL host parser is the reference for the ASCII form of a domain.
          const punycode = new URL(`http://${domain}/`).hostname;
          expect(punycode).toMatch(/^\p{ASCII}+$/u);
          expect(normalizeEmail(`kunde@${domain}`)).toBe(`kunde@${punycode}`);
          expect(normalizeEmail(`kunde@${punycode}`)).toBe(`kunde@${punycode}`);
        },
      ),
      RUNS,
    );
  });

  it("rejects any text containing two addresses", () => {
    fc.assert(
      fc.property(
        asciiAddress,
        asciiAddress,
        fc.constantFrom(",", ", ", ";", " ", "; "),
        (a, b, separator) => {
          expect(normalizeEmail(`${a}${separator}${b}`)).toBeUndefined();
        },
      ),
      RUNS,
    );
  });

  it("rejects any address with a display name", () => {
    const displayName = fc.stringMatching(/^[A-Za-z][A-Za-z ]{0,20}$/);
    fc.assert(
      fc.property(displayName, asciiAddress, (name, address) => {
        expect(normalizeEmail(`${name} <${address}>`)).toBeUndefined();
      }),
      RUNS,
    );
  });
});

describe("requireEmail", () => {
  it("returns the normalised address", () => {
    expect(requireEmail("  Bob+X@Example.COM ")).toBe("bob+x@example.com");
  });

  it("throws a validation error naming the field when the address is invalid", () => {
    let caught: unknown;
    try {
      requireEmail("Bob <bob@example.com>", "fromEmail");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MandrillKitValidationError);
    const error = caught as MandrillKitValidationError;
    expect(error.code).toBe("ERR_MK_EMAIL_INVALID");
    expect(error.fields).toEqual([{ field: "fromEmail", message: expect.any(String) }]);
    expect(error.message).toContain("fromEmail");
    expect(error.message).toContain('"Bob <bob@example.com>"');
  });

  it('names the field "email" when no field is given', () => {
    expect(() => requireEmail("not an address")).toThrowError(
      expect.objectContaining({
        code: "ERR_MK_EMAIL_INVALID",
        fields: [expect.objectContaining({ field: "email" })],
      }),
    );
  });

  it("says what type it received when given something that is not a string", () => {
    expect(() => requireEmail(42, "to[0].email")).toThrowError(/to\[0\]\.email.*number/);
  });

  it("throws only validation errors, and only for inputs normalizeEmail rejects", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), asciiAddress, fc.anything()), (input) => {
        const expected = normalizeEmail(input);
        if (expected === undefined) {
          expect(() => requireEmail(input)).toThrowError(MandrillKitValidationError);
        } else {
          expect(requireEmail(input)).toBe(expected);
        }
      }),
      RUNS,
    );
  });
});
