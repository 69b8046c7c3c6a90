import { createMemoryStore, MandrillKitConfigError } from "@mandrill-kit/core";
import { addKey, createCredentials, generateKey, type OctJwk, parseKeySet } from "@mandrill-kit/credentials";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
// The JWE layer and the key ring are internals of the package: tested from source.
import { encryptSecret, keyIdOf } from "../src/jwe.js";
import { checkKeySet, createKeyRing } from "../src/key-ring.js";

const good = generateKey("good-1");
const other = generateKey("good-2");

/** A 256-bit key whose base64url has unused trailing bits set: the same bytes, spelt differently. */
function nonCanonical(k: string): string {
  const last = k.at(-1) as string;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  return k.slice(0, -1) + alphabet[alphabet.indexOf(last) + 1];
}

interface BadCase {
  name: string;
  keys: unknown;
  activeKid?: string;
  /** Key material that must not appear in the message. */
  secrets: string[];
}

const BAD: BadCase[] = [
  {
    name: "text that is not JSON",
    keys: `{"keys":[{"kty":"oct","kid":"a","k":"${good.k}"}`,
    secrets: [good.k],
  },
  {
    name: "JSON that is not a key set",
    keys: `[{"kty":"oct","kid":"a","k":"${good.k}"}]`,
    secrets: [good.k],
  },
  { name: "a set with no keys", keys: '{"keys":[]}', secrets: [] },
  { name: "an object without keys", keys: {}, secrets: [] },
  { name: "null", keys: null, secrets: [] },
  { name: "a key that is not an object", keys: { keys: [good.k] }, secrets: [good.k] },
  {
    name: "a duplicate kid",
    keys: { keys: [good, { ...other, kid: good.kid }] },
    secrets: [good.k, other.k],
  },
  { name: "a kid with a space", keys: { keys: [{ ...good, kid: "has space" }] }, secrets: [good.k] },
  { name: "an empty kid", keys: { keys: [{ ...good, kid: "" }] }, secrets: [good.k] },
  { name: "a 65-character kid", keys: { keys: [{ ...good, kid: "k".repeat(65) }] }, secrets: [good.k] },
  { name: "a missing kid", keys: { keys: [{ kty: "oct", k: good.k }] }, secrets: [good.k] },
  { name: "a kid that is a number", keys: { keys: [{ ...good, kid: 7 }] }, secrets: [good.k] },
  { name: "kty RSA", keys: { keys: [{ ...good, kty: "RSA" }] }, secrets: [good.k] },
  { name: "no kty", keys: { keys: [{ kid: "a", k: good.k }] }, secrets: [good.k] },
  {
    name: "a 128-bit key",
    keys: { keys: [{ ...good, k: good.k.slice(0, 22) }] },
    secrets: [good.k.slice(0, 22)],
  },
  {
    name: "a 512-bit key",
    keys: { keys: [{ ...good, k: good.k + other.k }] },
    secrets: [good.k, other.k],
  },
  {
    name: "a non-canonical k",
    keys: { keys: [{ ...good, k: nonCanonical(good.k) }] },
    secrets: [good.k, nonCanonical(good.k)],
  },
  { name: "k with padding", keys: { keys: [{ ...good, k: `${good.k}=` }] }, secrets: [good.k] },
  {
    name: "k in standard base64",
    keys: { keys: [{ ...good, k: Buffer.from(good.k, "base64url").toString("base64") }] },
    secrets: [good.k, Buffer.from(good.k, "base64url").toString("base64")],
  },
  { name: "no k", keys: { keys: [{ kty: "oct", kid: "a" }] }, secrets: [] },
  { name: "alg A128KW", keys: { keys: [{ ...good, alg: "A128KW" }] }, secrets: [good.k] },
  { name: 'use "sig"', keys: { keys: [{ ...good, use: "sig" }] }, secrets: [good.k] },
  {
    name: "a bad second key after a good first one",
    keys: { keys: [other, { ...good, kty: "EC" }] },
    secrets: [good.k, other.k],
  },
  {
    name: "an activeKid not in the set",
    keys: { keys: [good, other] },
    activeKid: "missing",
    secrets: [good.k, other.k],
  },
];

/** Every spelling of a key that must stay out of messages: base64url, base64 and hex. */
function spellings(k: string): string[] {
  const bytes = Buffer.from(k, "base64url");
  return [k, bytes.toString("base64"), bytes.toString("hex")].filter((s) => s.length >= 8);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a synchronous throw");
}

function expectKeysError(error: unknown, secrets: string[]): void {
  expect(error).toBeInstanceOf(MandrillKitConfigError);
  const configError = error as MandrillKitConfigError;
  expect(configError.code).toBe("ERR_MK_CONFIG_KEYS");
  expect(configError.option).toBe("keys");
  expect(configError.message.length).toBeGreaterThan(20);
  for (const secret of secrets)
    for (const spelling of spellings(secret)) expect(configError.message).not.toContain(spelling);
}

describe("bad key configuration", () => {
  it.each(BAD)(
    "checkKeySet refuses $name with ERR_MK_CONFIG_KEYS and no key material in the message",
    (bad) => {
      expectKeysError(
        thrown(() => checkKeySet(bad.keys, bad.activeKid)),
        bad.secrets,
      );
    },
  );

  it.each(BAD.filter((bad) => bad.activeKid === undefined))("parseKeySet refuses $name", (bad) => {
    expectKeysError(
      thrown(() => parseKeySet(bad.keys)),
      bad.secrets,
    );
  });

  it.each(BAD.filter((bad) => typeof bad.keys !== "string"))(
    "the JSON text of $name is refused the same way",
    (bad) => {
      expectKeysError(
        thrown(() => checkKeySet(JSON.stringify(bad.keys), bad.activeKid)),
        bad.secrets,
      );
    },
  );

  it.each(BAD)("createCredentials throws synchronously at start for $name", (bad) => {
    const store = createMemoryStore();
    const error = thrown(() =>
      createCredentials({
        store,
        keys: bad.keys as string,
        publicUrl: "https://app.example.com",
        ...(bad.activeKid === undefined ? {} : { activeKid: bad.activeKid }),
      }),
    );
    expectKeysError(error, bad.secrets);
  });

  it("explains a non-canonical k instead of calling a 256-bit key the wrong size", () => {
    // BUG: the message reads 'key "good-1" is 256 bits; keys must be exactly 256 bits', which
    // contradicts itself; the fix a user needs is "re-encode k as canonical base64url".
    const error = thrown(() => checkKeySet({ keys: [{ ...good, k: nonCanonical(good.k) }] }));
    expectKeysError(error, [good.k, nonCanonical(good.k)]);
    expect((error as Error).message).not.toContain("is 256 bits");
  });

  it("never shows any key's material, whichever single member of a valid set is broken", () => {
    const breakages: Array<(key: OctJwk) => Record<string, unknown>> = [
      (key) => ({ ...key, kty: "RSA" }),
      (key) => ({ ...key, alg: "A128KW" }),
      (key) => ({ ...key, use: "sig" }),
      (key) => ({ ...key, kid: "bad kid" }),
      (key) => ({ ...key, k: key.k.slice(0, 42) }),
      (key) => ({ ...key, k: nonCanonical(key.k) }),
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.nat(),
        fc.nat({ max: breakages.length - 1 }),
        (size, pick, how) => {
          const keys: Record<string, unknown>[] = Array.from({ length: size }, (_, i) =>
            generateKey(`k${i}`),
          );
          const broken = pick % size;
          keys[broken] = (breakages[how] as (key: OctJwk) => Record<string, unknown>)(keys[broken] as OctJwk);
          const secrets = keys.map((key) => key.k as string);
          expectKeysError(
            thrown(() => checkKeySet({ keys })),
            secrets,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("active key", () => {
  it("is the first key of the set unless activeKid names another", async () => {
    expect(checkKeySet({ keys: [good, other] }).active).toBe("good-1");
    expect(checkKeySet({ keys: [good, other] }, "good-2").active).toBe("good-2");
    const ring = await createKeyRing(checkKeySet({ keys: [good, other] }));
    expect(ring.active.kid).toBe("good-1");
    expect(ring.kids).toEqual(["good-1", "good-2"]);
    const chosen = await createKeyRing(checkKeySet({ keys: [good, other] }, "good-2"));
    expect(chosen.active.kid).toBe("good-2");
    expect(keyIdOf(await encryptSecret(chosen, "acme", "apiKey", "s"), "acme", "apiKey")).toBe("good-2");
    expect(chosen.find("good-1")?.kid).toBe("good-1");
    expect(chosen.find("nope")).toBeUndefined();
  });

  it("is the one createCredentials encrypts new secrets with", async () => {
    for (const [activeKid, expected] of [
      [undefined, "good-1"],
      ["good-2", "good-2"],
    ] as const) {
      const store = createMemoryStore();
      const credentials = createCredentials({
        store,
        keys: JSON.stringify({ keys: [good, other] }),
        publicUrl: "https://app.example.com",
        ...(activeKid === undefined ? {} : { activeKid }),
      });
      await credentials.save("acme", {
        transport: "api",
        apiKey: "md-abcdefghijkl",
        fromEmail: "a@example.com",
      });
      const record = await store.credentials.get("acme");
      expect(keyIdOf(record?.secrets.apiKey as string, "acme", "apiKey")).toBe(expected);
    }
  });

  it("accepts a JWK Set as JSON text or as an object, with optional alg A256KW and use enc", () => {
    const bare = { kty: "oct", kid: "bare", k: good.k };
    expect(parseKeySet(JSON.stringify({ keys: [bare] })).keys).toEqual([bare]);
    expect(parseKeySet({ keys: [good] }).keys).toEqual([good]);
  });
});

describe("generateKey", () => {
  it("makes 256-bit oct keys of 32 random bytes with unique kids", () => {
    const keys = Array.from({ length: 50 }, () => generateKey());
    for (const key of keys) {
      expect(key).toMatchObject({ kty: "oct", alg: "A256KW", use: "enc" });
      const bytes = Buffer.from(key.k, "base64url");
      expect(bytes).toHaveLength(32);
      expect(bytes.toString("base64url")).toBe(key.k);
      expect(key.kid).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
    }
    expect(new Set(keys.map((k) => k.kid)).size).toBe(keys.length);
    expect(new Set(keys.map((k) => k.k)).size).toBe(keys.length);
    // Random bytes, not a counter or a constant: every byte position varies across 50 keys.
    for (let i = 0; i < 32; i++) {
      expect(new Set(keys.map((k) => Buffer.from(k.k, "base64url")[i])).size).toBeGreaterThan(1);
    }
    expect(parseKeySet({ keys }).keys).toHaveLength(50);
  });

  it("uses the given kid, and refuses an invalid one without making a key", () => {
    expect(generateKey("2026-11").kid).toBe("2026-11");
    const error = thrown(() => generateKey("no spaces allowed"));
    expect(error).toBeInstanceOf(MandrillKitConfigError);
    expect((error as MandrillKitConfigError).code).toBe("ERR_MK_CONFIG_KEYS");
  });
});

describe("addKey", () => {
  it("puts a new key first and keeps the existing keys after it", () => {
    const set = addKey(JSON.stringify({ keys: [good, other] }), "new-1");
    expect(set.keys.map((k) => k.kid)).toEqual(["new-1", "good-1", "good-2"]);
    expect(set.keys[1]).toEqual(good);
    expect(set.keys[2]).toEqual(other);
    expect(checkKeySet(set).active).toBe("new-1");
  });

  it("starts a new set when there is none", () => {
    const set = addKey(undefined);
    expect(set.keys).toHaveLength(1);
    expect(parseKeySet(set).keys).toHaveLength(1);
  });

  it("refuses a kid already in the set, and a broken existing set, without showing key material", () => {
    expectKeysError(
      thrown(() => addKey({ keys: [good] }, "good-1")),
      [good.k],
    );
    expectKeysError(
      thrown(() => addKey({ keys: [{ ...good, use: "sig" }] })),
      [good.k],
    );
  });
});
