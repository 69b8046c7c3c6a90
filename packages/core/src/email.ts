import { domainToASCII } from "node:url";
import { MandrillKitValidationError } from "./errors.js";

const MAX_LENGTH = 254;
const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;
// RFC 5322 dot-atom characters plus any non-ASCII (RFC 6531 internationalised local parts).
const LOCAL_ATOM =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+)*$/;
// Lower-case LDH labels, at least two of them.
const ASCII_DOMAIN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// A whole lower-case ASCII address without A-labels: the common case, checked with one regex.
const PLAIN_ASCII_EMAIL =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point: "anything not ASCII"
const NON_ASCII = /[^\u0000-\u007f]/;

function normalizeDomain(raw: string): string | undefined {
  let domain = raw.endsWith(".") ? raw.slice(0, -1) : raw;
  if (NON_ASCII.test(domain)) {
    // IDN: the ASCII (punycode) form is the identity of the mailbox.
    if (/[\s@]/.test(domain)) return undefined;
    domain = domainToASCII(domain.normalize("NFC").toLowerCase());
    if (domain === "") return undefined;
  } else {
    domain = domain.toLowerCase();
    // An A-label must be valid punycode; the WHATWG parser checks that (and returns it unchanged).
    if (domain.includes("xn--") && domainToASCII(domain) !== domain) return undefined;
  }
  return domain.length <= MAX_DOMAIN && ASCII_DOMAIN.test(domain) ? domain : undefined;
}

/**
 * The one email normalisation of the kit, applied wherever an address is stored, compared or looked
 * up (suppressions, inbox, sends). Returns `undefined` when `input` is not a single plain address.
 *
 * - surrounding white space and one pair of angle brackets (`<a@b>`) are removed;
 * - the whole address is lower-cased (Mandrill and every mailbox provider in practice treat the local
 *   part case-insensitively, and a suppression must not be dodged by `Bob@` vs `bob@`);
 * - Unicode is put in NFC; the domain is converted to its ASCII (punycode) form, so `bücher.example`
 *   and `xn--bcher-kva.example` are the same mailbox;
 * - a trailing dot on the domain is dropped;
 * - plus-addressing and dots are kept: `a+x@` and `a.b@` can be different mailboxes;
 * - domains are host names (letters, digits, hyphens; two labels or more): no IP literals, no
 *   percent-encoding, no quoted local parts.
 *
 * Idempotent: `normalizeEmail(normalizeEmail(x)) === normalizeEmail(x)`. Never throws.
 */
export function normalizeEmail(input: unknown): string | undefined {
  if (typeof input !== "string") return undefined;
  let s = input.trim();
  if (s.length > 0 && s.charCodeAt(0) === 0x3c /* < */ && s.charCodeAt(s.length - 1) === 0x3e /* > */) {
    s = s.slice(1, -1).trim();
  }
  if (s.length === 0 || s.length > MAX_LENGTH * 4) return undefined;
  // Fast path (suppression checks normalise thousands of addresses per call): plain ASCII.
  const lower = s.toLowerCase();
  if (lower.length <= MAX_LENGTH && PLAIN_ASCII_EMAIL.test(lower) && !lower.includes("xn--")) {
    return lower.indexOf("@") <= MAX_LOCAL ? lower : undefined;
  }
  const at = s.lastIndexOf("@");
  if (at <= 0 || at === s.length - 1) return undefined;
  let local = s.slice(0, at);
  local = NON_ASCII.test(local) ? local.normalize("NFC").toLowerCase().normalize("NFC") : local.toLowerCase();
  if (local.length > MAX_LOCAL || !LOCAL_ATOM.test(local)) return undefined;
  const domain = normalizeDomain(s.slice(at + 1));
  if (domain === undefined) return undefined;
  const result = `${local}@${domain}`;
  return result.length > MAX_LENGTH ? undefined : result;
}

/** True when `input` is a single plain email address the kit accepts. */
export function isEmail(input: unknown): input is string {
  return normalizeEmail(input) !== undefined;
}

/**
 * {@link normalizeEmail}, throwing a {@link MandrillKitValidationError} (`ERR_MK_EMAIL_INVALID`)
 * naming `field` when the address is not valid.
 */
export function requireEmail(input: unknown, field = "email"): string {
  const email = normalizeEmail(input);
  if (email === undefined) {
    const shown = typeof input === "string" ? JSON.stringify(input.slice(0, 80)) : typeof input;
    throw new MandrillKitValidationError(
      "ERR_MK_EMAIL_INVALID",
      `${field} must be a single email address such as "alice@example.org"; received ${shown}.`,
      [{ field, message: "is not a valid email address" }],
    );
  }
  return email;
}
