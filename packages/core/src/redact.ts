import { createHash, timingSafeEqual } from "node:crypto";
import { inspect } from "node:util";

const MASK = "••••";

/**
 * Masks a secret for display: its last 4 characters after a fixed mask (`"••••a1b2"`), or the mask
 * alone when the secret is shorter than 12 characters (then 4 characters would give away too much).
 * The length of the secret is never revealed.
 */
export function maskSecret(secret: string): string {
  return secret.length >= 12 ? MASK + secret.slice(-4) : MASK;
}

/**
 * A secret value (API key, webhook key, token) that does not leak by accident: `JSON.stringify`,
 * `String()`, template literals and `util.inspect` all print the masked form. Call `reveal()` only at
 * the point of use (an HTTP body to Mandrill, an HMAC key).
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The plaintext. Keep the result out of logs, errors and responses. */
  reveal(): string {
    return this.#value;
  }

  /** The masked form, e.g. `"••••a1b2"`. */
  get masked(): string {
    return maskSecret(this.#value);
  }

  /**
   * Constant-time comparison with another secret or string. Both sides are hashed first, so the
   * time taken says nothing about either value, not even its length.
   */
  equals(other: Secret | string): boolean {
    // UTF-16 code units, not UTF-8: lone surrogates must not all collapse to U+FFFD and compare equal.
    const a = createHash("sha256").update(Buffer.from(this.#value, "utf16le")).digest();
    const b = createHash("sha256")
      .update(Buffer.from(other instanceof Secret ? other.reveal() : other, "utf16le"))
      .digest();
    return timingSafeEqual(a, b);
  }

  toJSON(): string {
    return this.masked;
  }

  toString(): string {
    return this.masked;
  }

  [inspect.custom](): string {
    return `Secret(${this.masked})`;
  }
}

/**
 * Keys whose values are secret wherever they appear in a log context or an error detail.
 * Compared case-insensitively with `-` and `_` removed, so `api_key`, `apiKey` and `API-KEY` match.
 */
const SECRET_KEYS = new Set(
  [
    "key",
    "apikey",
    "webhookkey",
    "webhookkeys",
    "authkey",
    "password",
    "pass",
    "passwd",
    "secret",
    "secrets",
    "token",
    "accesstoken",
    "admintoken",
    "authorization",
    "cookie",
    "setcookie",
    "masterkey",
    "keys",
    "jwk",
    "jwks",
    "k",
    "xmandrillsignature",
    "signature",
  ].map((k) => k),
);

function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase().replace(/[-_]/g, ""));
}

/**
 * Returns a copy of `value` in which every property with a secret-looking name (see the list in
 * the source: `apiKey`, `key`, `password`, `authorization`, …) is masked, and every {@link Secret}
 * is shown masked. Cycles and depth are bounded; the input is never mutated.
 */
export function redact(value: unknown, depth = 0, ancestors: WeakSet<object> = new WeakSet()): unknown {
  if (value instanceof Secret) return value.masked;
  if (value === null || typeof value !== "object") return value;
  if (depth > 8) return "[depth]";
  // Only an object that contains itself is circular; the same object twice side by side is not.
  if (ancestors.has(value)) return "[circular]";
  if (value instanceof Error) {
    return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  }
  if (value instanceof Date) return value.toISOString();
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, ancestors));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const shown =
        isSecretKey(k) && v !== null && v !== undefined && v !== ""
          ? typeof v === "string"
            ? maskSecret(v)
            : MASK
          : redact(v, depth + 1, ancestors);
      // defineProperty, not assignment: a "__proto__" key from untrusted JSON must stay a plain key.
      Object.defineProperty(out, k, { value: shown, enumerable: true, writable: true, configurable: true });
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}
