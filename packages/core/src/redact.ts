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

const NAME = "[A-Za-z][A-Za-z0-9_-]*";
/** `"apiKey": "…"`, `'password':'…'` or `token: '…'` (JSON or inspected objects inside a message). */
const QUOTED_PAIR = new RegExp(
  `(?<![\\w-])(["']?)(${NAME})\\1(\\s*:\\s*)(["'])((?:(?!\\4)[^\\\\]|\\\\.)*)\\4`,
  "g",
);
/** `key=…` in a query string, form body or `name=value` list. */
const EQUALS_PAIR = new RegExp(`(^|[?&;,\\s(])(${NAME})=([^&\\s;,)"']+)`, "g");
/** `Authorization: Bearer …` / `Basic …` credentials. */
const AUTH_SCHEME = /\b(Bearer|Basic)\s+([A-Za-z0-9._~+/=-]{8,})/gi;
/** The password of a URL such as `postgres://user:password@host/db`. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:)([^\s@/]+)@/gi;

/**
 * Masks secrets written inside free text the kit does not control, such as the message and stack of
 * an error thrown by a driver or an HTTP client: values after a secret-looking name (`"apiKey":"…"`,
 * `password=…`), `Bearer`/`Basic` credentials, and URL passwords. {@link Secret}s interpolated into
 * text already show their masked form.
 */
function redactText(text: string): string {
  return text
    .replace(URL_PASSWORD, (_m, head: string, password: string) => `${head}${maskSecret(password)}@`)
    .replace(AUTH_SCHEME, (_m, scheme: string, credentials: string) => `${scheme} ${maskSecret(credentials)}`)
    .replace(QUOTED_PAIR, (match, q: string, name: string, sep: string, vq: string, value: string) =>
      isSecretKey(name) && value !== "" ? `${q}${name}${q}${sep}${vq}${maskSecret(value)}${vq}` : match,
    )
    .replace(EQUALS_PAIR, (match, lead: string, name: string, value: string) =>
      isSecretKey(name) ? `${lead}${name}=${maskSecret(value)}` : match,
    );
}

/** Sets an enumerable own property (defineProperty: a `"__proto__"` key stays a plain key). */
function setOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function redactEntry(key: string, value: unknown, depth: number, ancestors: WeakSet<object>): unknown {
  if (isSecretKey(key) && value !== null && value !== undefined && value !== "") {
    return typeof value === "string" ? maskSecret(value) : MASK;
  }
  return redact(value, depth + 1, ancestors);
}

/**
 * A redacted copy of an error that still reads as the error it was: same prototype (so its class
 * name, `instanceof` and pino's `err` serializer see the real type), with `name`, `message`, `stack`,
 * `cause` (redacted in turn), AggregateError's `errors` and every own property such as `code`. These
 * are enumerable on the copy so JSON loggers keep them too. Messages and stacks pass through
 * {@link redactText}; secret-named properties are masked as anywhere else.
 */
function redactError(error: Error, depth: number, ancestors: WeakSet<object>): Error {
  const copy = Object.create(Object.getPrototypeOf(error) as object | null) as Error;
  setOwn(copy, "name", error.name);
  setOwn(copy, "message", typeof error.message === "string" ? redactText(error.message) : error.message);
  if (typeof error.stack === "string") setOwn(copy, "stack", redactText(error.stack));
  for (const [k, v] of Object.entries(error)) {
    if (k !== "name" && k !== "message" && k !== "stack")
      setOwn(copy, k, redactEntry(k, v, depth, ancestors));
  }
  if ("cause" in error && !Object.prototype.propertyIsEnumerable.call(error, "cause")) {
    setOwn(copy, "cause", redact(error.cause, depth + 1, ancestors));
  }
  if (error instanceof AggregateError && !Object.prototype.propertyIsEnumerable.call(error, "errors")) {
    setOwn(copy, "errors", redact(error.errors, depth + 1, ancestors));
  }
  return copy;
}

/**
 * Returns a copy of `value` in which every property with a secret-looking name (see the list in
 * the source: `apiKey`, `key`, `password`, `authorization`, …) is masked, and every {@link Secret}
 * is shown masked. Errors stay errors, with their stack and cause (see `redactError` in the source);
 * secrets written inside their messages are masked by {@link redactText}. Cycles and depth are
 * bounded; the input is never mutated.
 */
export function redact(value: unknown, depth = 0, ancestors: WeakSet<object> = new WeakSet()): unknown {
  if (value instanceof Secret) return value.masked;
  if (value === null || typeof value !== "object") return value;
  if (depth > 8) return "[depth]";
  // Only an object that contains itself is circular; the same object twice side by side is not.
  if (ancestors.has(value)) return "[circular]";
  if (value instanceof Date) return value.toISOString();
  ancestors.add(value);
  try {
    if (value instanceof Error) return redactError(value, depth, ancestors);
    if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, ancestors));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, redactEntry(k, v, depth, ancestors));
    return out;
  } finally {
    ancestors.delete(value);
  }
}
