import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FormBodyError } from "../src/errors.js";
import { decodeFormBytes } from "../src/form-body.js";

/** The decoding the router's byte decoder must match: one field at a time, by the WHATWG rules. */
function reference(body: string): { names: string[]; values: string[] } {
  const names: string[] = [];
  const values: string[] = [];
  for (const [name, value] of new URLSearchParams(body)) {
    names.push(name);
    values.push(value);
  }
  return { names, values };
}

const decoded = (body: string) => {
  const form = decodeFormBytes(Buffer.from(body));
  return { names: form.names, values: form.values.map((v) => v.toString("utf8")) };
};

const malformed = (body: string) => {
  try {
    decodeFormBytes(Buffer.from(body));
  } catch (error) {
    return error instanceof FormBodyError && error.status === 400 && /percent-escape/.test(error.message);
  }
  return false;
};

describe("decodeFormBytes", () => {
  it("decodes every byte's escape, in upper and lower case hex, and '+' as a space", () => {
    for (let b = 0; b < 0x80; b++) {
      for (const hex of [b.toString(16).padStart(2, "0"), b.toString(16).padStart(2, "0").toUpperCase()]) {
        const value = decodeFormBytes(Buffer.from(`x=a%${hex}b+c`)).values[0] as Buffer;
        expect([...value]).toEqual([0x61, b, 0x62, 0x20, 0x63]);
      }
    }
    expect(decoded("a+b=%2B+%25")).toEqual({ names: ["a b"], values: ["+ %"] });
  });

  it("refuses a malformed escape wherever it is: cut short at the end, or not hex", () => {
    for (const body of ["x=%", "x=%4", "x=ab%4", "x=%4g", "x=%g4", "x=%%41", "%4=1", "x=1&y=%", "x=%ZZ&y=1"])
      expect(malformed(body), body).toBe(true);
    expect(decoded("x=%41")).toEqual({ names: ["x"], values: ["A"] });
    expect(decoded("x=a%41")).toEqual({ names: ["x"], values: ["aA"] });
  });

  it("decodes any form-encoded UTF-8 text as the WHATWG decoder does", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.tuple(fc.string({ unit: "grapheme", minLength: 1 }), fc.string({ unit: "grapheme" })),
          {
            selector: ([name]) => name,
            maxLength: 4,
          },
        ),
        fc.boolean(),
        (fields, plus) => {
          const encode = (s: string) => {
            const e = encodeURIComponent(s);
            return plus ? e.replace(/%20/g, "+") : e;
          };
          const body = fields.map(([n, v]) => `${encode(n)}=${encode(v)}`).join("&");
          expect(decoded(body)).toEqual(reference(body));
        },
      ),
      { numRuns: 300 },
    );
  });
});
