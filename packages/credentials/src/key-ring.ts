import { randomBytes } from "node:crypto";
import { MandrillKitConfigError } from "@mandrill-kit/core";
import jose from "node-jose";

/** One 256-bit key of the ring, ready for node-jose. */
export interface RingKey {
  kid: string;
  key: jose.JWK.Key;
}

/**
 * The configured encryption keys: exactly one active key encrypts; every key decrypts what it
 * encrypted (looked up by `kid`, never by trial).
 */
export interface KeyRing {
  readonly active: RingKey;
  readonly kids: readonly string[];
  find(kid: string): RingKey | undefined;
}

/** A JWK of the set, as JSON. */
export interface OctJwk {
  kty: "oct";
  kid: string;
  k: string;
  alg?: "A256KW";
  use?: "enc";
  [member: string]: unknown;
}

/** A JWK Set as JSON. */
export interface JwkSet {
  keys: OctJwk[];
}

const KID = /^[A-Za-z0-9._:-]{1,64}$/;

function keysError(message: string): MandrillKitConfigError {
  return new MandrillKitConfigError("ERR_MK_CONFIG_KEYS", "keys", message);
}

/**
 * Reads and checks a JWK Set (JSON text or object) of 256-bit `oct` keys. Messages name the
 * offending key by `kid` or position and never include key material.
 */
export function parseKeySet(keys: unknown): JwkSet {
  let value = keys;
  if (typeof keys === "string") {
    try {
      value = JSON.parse(keys);
    } catch {
      throw keysError(
        'keys is not valid JSON. Expected a JWK Set such as {"keys":[{"kty":"oct","kid":"2026-11","k":"<43 base64url characters>"}]}; generate one with `mandrill-kit keys generate`.',
      );
    }
  }
  if (value === null || typeof value !== "object" || !Array.isArray((value as { keys?: unknown }).keys)) {
    throw keysError(
      'keys must be a JWK Set: an object with a "keys" array. Generate one with `mandrill-kit keys generate`.',
    );
  }
  const list = (value as { keys: unknown[] }).keys;
  if (list.length === 0) throw keysError("keys has no key. Generate one with `mandrill-kit keys generate`.");
  const seen = new Set<string>();
  list.forEach((jwk, i) => {
    const where = `keys[${i}]`;
    if (jwk === null || typeof jwk !== "object") throw keysError(`${where} is not a JWK object.`);
    const { kty, kid, k, alg, use } = jwk as Record<string, unknown>;
    if (typeof kid !== "string" || !KID.test(kid)) {
      throw keysError(
        `${where} needs a "kid" of 1–64 characters from A–Z a–z 0–9 . _ : - (it names the key in every ciphertext).`,
      );
    }
    const named = `key "${kid}"`;
    if (seen.has(kid)) throw keysError(`${named} appears twice; every kid must be unique.`);
    seen.add(kid);
    if (kty !== "oct")
      throw keysError(`${named} has kty ${JSON.stringify(kty)}; only symmetric "oct" keys are used.`);
    if (typeof k !== "string" || !/^[A-Za-z0-9_-]+$/.test(k))
      throw keysError(`${named} needs "k": its 32 bytes as base64url.`);
    const bytes = Buffer.from(k, "base64url");
    if (bytes.length !== 32) {
      throw keysError(
        `${named} is ${bytes.length * 8} bits; keys must be exactly 256 bits (43 base64url characters).`,
      );
    }
    if (bytes.toString("base64url") !== k) {
      throw keysError(
        `${named} is not canonical base64url (its last character has unused bits set); generate keys with \`mandrill-kit keys generate\`.`,
      );
    }
    if (alg !== undefined && alg !== "A256KW")
      throw keysError(`${named} has alg ${JSON.stringify(alg)}; only A256KW is used.`);
    if (use !== undefined && use !== "enc")
      throw keysError(`${named} has use ${JSON.stringify(use)}; it must be "enc" or absent.`);
  });
  return { keys: list as OctJwk[] };
}

/**
 * Checks a JWK Set and the active kid synchronously (so bad configuration fails at start); returns
 * the set and the kid that encrypts (`activeKid`, or the first key of the set).
 */
export function checkKeySet(keys: unknown, activeKid?: string): { set: JwkSet; active: string } {
  const set = parseKeySet(keys);
  if (activeKid !== undefined && !set.keys.some((k) => k.kid === activeKid)) {
    throw keysError(
      `activeKid "${String(activeKid).slice(0, 64)}" is not in the key set (kids: ${set.keys.map((k) => k.kid).join(", ")}).`,
    );
  }
  return { set, active: activeKid ?? (set.keys[0] as OctJwk).kid };
}

/** Imports a checked key set (see {@link checkKeySet}) into a key ring. */
export async function createKeyRing(checked: { set: JwkSet; active: string }): Promise<KeyRing> {
  const { set, active } = checked;
  const byKid = new Map<string, RingKey>();
  for (const jwk of set.keys) {
    const key = await jose.JWK.asKey({ kty: "oct", kid: jwk.kid, k: jwk.k, alg: "A256KW", use: "enc" });
    byKid.set(jwk.kid, { kid: jwk.kid, key });
  }
  const activeKey = byKid.get(active as string) as RingKey;
  return {
    active: activeKey,
    kids: [...byKid.keys()],
    find: (kid) => byKid.get(kid),
  };
}

/** A fresh random 256-bit key. `kid` defaults to the UTC date and time plus a random suffix. */
export function generateKey(kid?: string): OctJwk {
  const id =
    kid ??
    `${new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-")}-${randomBytes(3).toString("hex")}`;
  if (!KID.test(id))
    throw keysError(`kid "${id.slice(0, 80)}" must be 1–64 characters from A–Z a–z 0–9 . _ : -.`);
  return { kty: "oct", kid: id, k: randomBytes(32).toString("base64url"), alg: "A256KW", use: "enc" };
}

/**
 * A key set with a new active key first, followed by the keys of `existing` (kept to decrypt what
 * they encrypted until a rotation has finished).
 */
export function addKey(existing: unknown, kid?: string): JwkSet {
  const previous = existing === undefined ? [] : parseKeySet(existing).keys;
  const key = generateKey(kid);
  if (previous.some((k) => k.kid === key.kid)) throw keysError(`kid "${key.kid}" is already in the key set.`);
  return { keys: [key, ...previous] };
}
