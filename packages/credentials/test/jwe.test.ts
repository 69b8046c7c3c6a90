import { inspect } from "node:util";
import { MandrillKitCryptoError } from "@mandrill-kit/core";
import { generateKey, type OctJwk } from "@mandrill-kit/credentials";
import fc from "fast-check";
import jose from "node-jose";
import { beforeAll, describe, expect, it } from "vitest";
// The JWE layer and the key ring are internals of the package: tested from source.
import { decryptSecret, encryptSecret, keyIdOf } from "../src/jwe.js";
import { checkKeySet, createKeyRing, type KeyRing } from "../src/key-ring.js";

// node-jose costs about 0.5 ms per operation: keep every property at or under 200 runs.
const RUNS = { numRuns: 200 };

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const accountId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$/).filter((id) => !id.includes(".."));

/** Any field name: any JavaScript string, lone surrogates included (the header is JSON, which escapes them). */
const fieldName = fc.string({ unit: "binary", maxLength: 40 });

/**
 * One Unicode scalar value: any code point except the surrogate range. A secret is stored as UTF-8,
 * and a lone surrogate (half of a UTF-16 pair) has no UTF-8 form — `Buffer.from(s, "utf8")` turns it
 * into U+FFFD — so exact round trips hold for well-formed strings; the separate property below pins
 * down what happens to ill-formed ones.
 */
const scalarValue = fc
  .integer({ min: 0, max: 0x10ffff - 0x800 })
  .map((n) => String.fromCodePoint(n < 0xd800 ? n : n + 0x800));

/** Any well-formed Unicode secret, from empty to 4096 code points. */
const secretText = fc.string({ unit: scalarValue, maxLength: 4096 });

/** A secret that cannot appear by accident in an error message. */
const distinctSecret = fc.stringMatching(/^[A-Za-z0-9]{24}$/).map((s) => `SECRET${s}`);

const keyA = generateKey("key-A");
const keyB = generateKey("key-B");
let ringA: KeyRing;
let ringB: KeyRing;
let ringBA: KeyRing;

async function ringOf(keys: OctJwk[], activeKid?: string): Promise<KeyRing> {
  return createKeyRing(checkKeySet({ keys }, activeKid));
}

beforeAll(async () => {
  ringA = await ringOf([keyA]);
  ringB = await ringOf([keyB]);
  ringBA = await ringOf([keyB, keyA]);
});

/** Resolves to what `promise` rejected with; fails the test if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected decryption to fail, but it returned a value");
}

async function expectCryptoError(
  promise: Promise<unknown>,
  code?: MandrillKitCryptoError["code"],
): Promise<MandrillKitCryptoError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(MandrillKitCryptoError);
  const cryptoError = error as MandrillKitCryptoError;
  expect(cryptoError.code).toMatch(/^ERR_MK_CRYPTO_/);
  if (code !== undefined) expect(cryptoError.code).toBe(code);
  return cryptoError;
}

function partsOf(jwe: string): string[] {
  const parts = jwe.split(".");
  expect(parts).toHaveLength(5);
  return parts;
}

function headerOf(jwe: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(partsOf(jwe)[0] as string, "base64url").toString("utf8"));
}

/** The same compact JWE with its protected header replaced (re-encoded as the first segment). */
function withHeader(jwe: string, header: Record<string, unknown>): string {
  const [, ...rest] = partsOf(jwe);
  return [Buffer.from(JSON.stringify(header), "utf8").toString("base64url"), ...rest].join(".");
}

describe("encryptSecret / decryptSecret round trip", () => {
  it("decrypts to the exact secret for any account, field and well-formed Unicode secret up to 4096 code points", async () => {
    await fc.assert(
      fc.asyncProperty(accountId, fieldName, secretText, async (account, field, secret) => {
        const jwe = await encryptSecret(ringA, account, field, secret);
        expect(await decryptSecret(ringA, account, field, jwe)).toBe(secret);
      }),
      {
        ...RUNS,
        examples: [
          ["a", "apiKey", ""],
          ["acme-1", "webhookKey:x", "é".repeat(2048)], // 4096 bytes of UTF-8
          ["Z9._-", "", "👍🏽 مرحبا 你好 \u0000\uffff\u{10ffff}"],
        ],
      },
    );
  });

  it("stores ill-formed strings (lone surrogates) as their UTF-8 form, with U+FFFD in place of each lone half", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", maxLength: 64 }), async (secret) => {
        const jwe = await encryptSecret(ringA, "acct", "apiKey", secret);
        expect(await decryptSecret(ringA, "acct", "apiKey", jwe)).toBe(
          Buffer.from(secret, "utf8").toString("utf8"),
        );
      }),
      { ...RUNS, examples: [["\ud800"], ["a\udc00b"]] },
    );
  });

  it("writes A256KW + A256GCM with the active kid and the account and field in the protected header", async () => {
    const jwe = await encryptSecret(ringBA, "acme", "apiKey", "md-secret-value");
    expect(headerOf(jwe)).toEqual({
      alg: "A256KW",
      enc: "A256GCM",
      kid: "key-B",
      "mk.account": "acme",
      "mk.field": "apiKey",
    });
    expect(keyIdOf(jwe, "acme", "apiKey")).toBe("key-B");
    expect(await decryptSecret(ringBA, "acme", "apiKey", jwe)).toBe("md-secret-value");
  });

  it("uses a fresh content key and IV for every encryption of the same plaintext", async () => {
    const jwes = await Promise.all(
      Array.from({ length: 20 }, () => encryptSecret(ringA, "acme", "apiKey", "same plaintext")),
    );
    expect(new Set(jwes).size).toBe(jwes.length);
    expect(new Set(jwes.map((j) => partsOf(j)[1])).size).toBe(jwes.length); // wrapped CEK
    expect(new Set(jwes.map((j) => partsOf(j)[2])).size).toBe(jwes.length); // IV
    for (const jwe of jwes) expect(await decryptSecret(ringA, "acme", "apiKey", jwe)).toBe("same plaintext");
  });
});

describe("tampered ciphertexts", () => {
  it("refuses a JWE with any single character changed to another base64url character", async () => {
    await fc.assert(
      fc.asyncProperty(
        accountId,
        fc.string({ maxLength: 200 }),
        fc.nat(),
        fc.constantFrom(...BASE64URL),
        async (account, secret, at, replacement) => {
          const jwe = await encryptSecret(ringA, account, "apiKey", secret);
          const i = at % jwe.length;
          fc.pre(jwe[i] !== replacement);
          const tampered = jwe.slice(0, i) + replacement + jwe.slice(i + 1);
          await expectCryptoError(decryptSecret(ringA, account, "apiKey", tampered));
        },
      ),
      RUNS,
    );
  });

  it("refuses a JWE with any single bit of any decoded part flipped", async () => {
    await fc.assert(
      fc.asyncProperty(
        accountId,
        fc.string({ maxLength: 200 }),
        fc.nat(),
        fc.nat(),
        async (account, secret, partPick, bitPick) => {
          const jwe = await encryptSecret(ringA, account, "apiKey", secret);
          const parts = partsOf(jwe);
          // The ciphertext part is empty for an empty secret: pick among the parts that have bits.
          const candidates = parts.flatMap((p, index) => (p.length > 0 ? [index] : []));
          const part = candidates[partPick % candidates.length] as number;
          const bytes = Buffer.from(parts[part] as string, "base64url");
          const bit = bitPick % (bytes.length * 8);
          bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7));
          parts[part] = bytes.toString("base64url");
          await expectCryptoError(decryptSecret(ringA, account, "apiKey", parts.join(".")));
        },
      ),
      RUNS,
    );
  });

  it("refuses a JWE whose protected header gained or lost a member", async () => {
    const members = ["alg", "enc", "kid", "mk.account", "mk.field"];
    const change = fc.oneof(
      fc.record({ remove: fc.constantFrom(...members) }),
      fc.record({
        add: fc.string({ maxLength: 20 }).filter((name) => !members.includes(name)),
        value: fc.jsonValue({ maxDepth: 2 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(accountId, fc.string({ maxLength: 100 }), change, async (account, secret, c) => {
        const jwe = await encryptSecret(ringA, account, "apiKey", secret);
        const header = headerOf(jwe);
        if ("remove" in c) delete header[c.remove];
        // defineProperty, not assignment: "__proto__" must become a member, not the prototype.
        else Object.defineProperty(header, c.add, { value: c.value, enumerable: true, writable: true });
        await expectCryptoError(decryptSecret(ringA, account, "apiKey", withHeader(jwe, header)));
      }),
      { ...RUNS, examples: [["acme", "s", { add: "zip", value: "DEF" }]] },
    );
  });

  it.each([
    ["compression", { zip: "DEF" }],
    ["alg dir", { alg: "dir" }],
    ["alg RSA-OAEP", { alg: "RSA-OAEP" }],
    ["alg none", { alg: "none" }],
    ["enc A128CBC-HS256", { enc: "A128CBC-HS256" }],
    ["enc A128GCM", { enc: "A128GCM" }],
  ])("refuses a header asking for %s as malformed", async (_name, change) => {
    const jwe = await encryptSecret(ringA, "acme", "apiKey", "md-secret-value");
    await expectCryptoError(
      decryptSecret(ringA, "acme", "apiKey", withHeader(jwe, { ...headerOf(jwe), ...change })),
      "ERR_MK_CRYPTO_MALFORMED",
    );
  });

  it("refuses a genuine compressed (zip DEF) JWE that node-jose itself would decrypt", async () => {
    const fields = { alg: "A256KW", kid: "key-A", "mk.account": "acme", "mk.field": "apiKey" };
    const jwe = (await jose.JWE.createEncrypt(
      { format: "compact", contentAlg: "A256GCM", zip: true, fields },
      ringA.active.key,
    )
      .update(Buffer.from("md-secret-value", "utf8"))
      .final()) as unknown as string;
    expect(headerOf(jwe).zip).toBe("DEF");
    const direct = await jose.JWE.createDecrypt(ringA.active.key).decrypt(jwe);
    expect(direct.payload.toString("utf8")).toBe("md-secret-value");
    await expectCryptoError(decryptSecret(ringA, "acme", "apiKey", jwe), "ERR_MK_CRYPTO_MALFORMED");
  });

  it.each([
    ["an empty string", ""],
    ["four parts", "a.b.c.d"],
    ["six parts", "a.b.c.d.e.f"],
    ["padded base64", "eyJ9.AA==.AA.AA.AA"],
    ["a 70 KB string", "A".repeat(70 * 1024)],
  ])("refuses %s as malformed", async (_name, jwe) => {
    await expectCryptoError(decryptSecret(ringA, "acme", "apiKey", jwe), "ERR_MK_CRYPTO_MALFORMED");
  });
});

describe("binding to account and field", () => {
  it("refuses a ciphertext read as another account's", async () => {
    await fc.assert(
      fc.asyncProperty(
        accountId,
        accountId,
        fieldName,
        fc.string(),
        async (writer, reader, field, secret) => {
          fc.pre(writer !== reader);
          const jwe = await encryptSecret(ringA, writer, field, secret);
          await expectCryptoError(decryptSecret(ringA, reader, field, jwe), "ERR_MK_CRYPTO_WRONG_BINDING");
        },
      ),
      { ...RUNS, examples: [["acme", "Acme", "apiKey", "x"]] },
    );
  });

  it("refuses a ciphertext read as another field", async () => {
    await fc.assert(
      fc.asyncProperty(
        accountId,
        fieldName,
        fieldName,
        fc.string(),
        async (account, writer, reader, secret) => {
          fc.pre(writer !== reader);
          const jwe = await encryptSecret(ringA, account, writer, secret);
          await expectCryptoError(decryptSecret(ringA, account, reader, jwe), "ERR_MK_CRYPTO_WRONG_BINDING");
        },
      ),
      { ...RUNS, examples: [["acme", "apiKey", "webhookKey:abc", "x"]] },
    );
  });
});

describe("key selection", () => {
  it("refuses a ciphertext whose kid is not in the ring", async () => {
    const jwe = await encryptSecret(ringA, "acme", "apiKey", "md-secret-value");
    await expectCryptoError(decryptSecret(ringB, "acme", "apiKey", jwe), "ERR_MK_CRYPTO_UNKNOWN_KEY");
  });

  it("does not try other keys when the kid is unknown, even one that would decrypt it", async () => {
    // Same key material as key A under another kid: trial decryption would succeed.
    const sameMaterial = await ringOf([{ ...keyA, kid: "renamed" }]);
    const jwe = await encryptSecret(ringA, "acme", "apiKey", "md-secret-value");
    await expectCryptoError(decryptSecret(sameMaterial, "acme", "apiKey", jwe), "ERR_MK_CRYPTO_UNKNOWN_KEY");
  });

  it("does not fall back to other keys when the named key fails to decrypt", async () => {
    // The kid names a different key; the right material is in the ring under another kid.
    const impostor = await ringOf([
      { ...keyB, kid: "key-A" },
      { ...keyA, kid: "old-A" },
    ]);
    const jwe = await encryptSecret(ringA, "acme", "apiKey", "md-secret-value");
    await expectCryptoError(decryptSecret(impostor, "acme", "apiKey", jwe), "ERR_MK_CRYPTO_DECRYPT_FAILED");
  });

  it("decrypts with a decrypt-only key of the ring and encrypts with the active one", async () => {
    const underA = await encryptSecret(ringA, "acme", "apiKey", "old secret");
    expect(await decryptSecret(ringBA, "acme", "apiKey", underA)).toBe("old secret");
    const underB = await encryptSecret(ringBA, "acme", "apiKey", "new secret");
    expect(keyIdOf(underB, "acme", "apiKey")).toBe("key-B");
    await expectCryptoError(decryptSecret(ringA, "acme", "apiKey", underB), "ERR_MK_CRYPTO_UNKNOWN_KEY");
  });
});

describe("error messages", () => {
  /** Every form in which the secret or the key could leak into an error. */
  function forbidden(secret: string, key: OctJwk): string[] {
    const keyBytes = Buffer.from(key.k, "base64url");
    return [
      secret,
      Buffer.from(secret).toString("base64"),
      Buffer.from(secret).toString("base64url"),
      key.k,
      keyBytes.toString("base64"),
      keyBytes.toString("hex"),
    ];
  }

  function expectNoLeak(error: MandrillKitCryptoError, secret: string, key: OctJwk): void {
    const shown = [error.message, String(error), inspect(error, { depth: 5 }), JSON.stringify(error)].join(
      "\n",
    );
    for (const value of forbidden(secret, key)) expect(shown).not.toContain(value);
  }

  it("never contain the plaintext or the key, whatever the failure", async () => {
    const wrongMaterial = await ringOf([{ ...keyB, kid: "key-A" }]);
    await fc.assert(
      fc.asyncProperty(distinctSecret, fc.nat(), fc.nat(), async (secret, at, bitPick) => {
        const jwe = await encryptSecret(ringA, "acme", "apiKey", secret);
        const parts = partsOf(jwe);
        const ct = Buffer.from(parts[3] as string, "base64url");
        const bit = bitPick % (ct.length * 8);
        ct[bit >> 3] = (ct[bit >> 3] as number) ^ (1 << (bit & 7));
        const flipped = [parts[0], parts[1], parts[2], ct.toString("base64url"), parts[4]].join(".");
        const i = at % jwe.length;
        const replaced = jwe.slice(0, i) + (jwe[i] === "A" ? "B" : "A") + jwe.slice(i + 1);
        const failures = [
          decryptSecret(ringA, "acme", "apiKey", flipped), // DECRYPT_FAILED
          decryptSecret(ringA, "acme", "apiKey", replaced), // any
          decryptSecret(ringA, "other", "apiKey", jwe), // WRONG_BINDING
          decryptSecret(ringB, "acme", "apiKey", jwe), // UNKNOWN_KEY
          decryptSecret(wrongMaterial, "acme", "apiKey", jwe), // DECRYPT_FAILED
          decryptSecret(ringA, "acme", "apiKey", `${jwe}.`), // MALFORMED
        ];
        for (const failure of failures) {
          const error = await expectCryptoError(failure);
          expectNoLeak(error, secret, keyA);
          expectNoLeak(error, secret, keyB);
        }
      }),
      { numRuns: 50 },
    );
  });
});
