import { domainToASCII } from "node:url";
import { MandrillKitValidationError } from "./errors.js";

const MAX_LENGTH = 254;
const MAX_LOCAL = 64;
// RFC 5322 dot-atom characters plus any non-ASCII (RFC 6531 internationalised local parts).
const LOCAL_ATOM =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+)*$/;
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

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
 * - plus-addressing and dots are kept: `a+x@` and `a.b@` can be different mailboxes.
 *
 * Idempotent: `normalizeEmail(normalizeEmail(x)) === normalizeEmail(x)`. Never throws.
 */
export function normalizeEmail(input: unknown): string | undefined {
  if (typeof input !== "string") return undefined;
  let s = input.trim();
  if (s.startsWith("<") && s.endsWith(">")) s = s.slice(1, -1).trim();
  if (s.length === 0 || s.length > MAX_LENGTH * 4) return undefined;
  const at = s.lastIndexOf("@");
  if (at <= 0 || at === s.length - 1) return undefined;
  const local = s.slice(0, at).normalize("NFC").toLowerCase().normalize("NFC");
  let domain = s.slice(at + 1);
  if (domain.endsWith(".")) domain = domain.slice(0, -1);
  if (local.length > MAX_LOCAL || !LOCAL_ATOM.test(local)) return undefined;
  if (/[\s@]/.test(domain) || domain.length === 0) return undefined;
  const ascii = domainToASCII(domain.normalize("NFC").toLowerCase());
  if (ascii === "" || ascii.length > 253) return undefined;
  const labels = ascii.split(".");
  if (labels.length < 2 || !labels.every((label) => DOMAIN_LABEL.test(label))) return undefined;
  const result = `${local}@${ascii}`;
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
