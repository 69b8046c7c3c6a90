import { isUtf8 } from "node:buffer";
import { FormBodyError } from "./errors.js";

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/** Checks the request's content type and charset (UTF-8 or none). */
export function checkFormContentType(contentType: string | undefined): void {
  if (contentType === undefined || !FORM_TYPE.test(contentType)) {
    throw new FormBodyError(
      415,
      "Mandrill posts application/x-www-form-urlencoded; this request has another content type.",
    );
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new FormBodyError(
      415,
      `Only UTF-8 form bodies are accepted; this one declares charset=${charset.slice(0, 40)}.`,
    );
  }
}

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}
/** The byte of each `%XX` escape, indexed by its two hex digits (`X << 8 | X`); -1 where not hex. */
const ESCAPE = new Int16Array(65536).fill(-1);
for (let hi = 0; hi < 256; hi++) {
  for (let lo = 0; lo < 256; lo++) {
    const h = HEX[hi] as number;
    const l = HEX[lo] as number;
    if (h >= 0 && l >= 0) ESCAPE[(hi << 8) | lo] = (h << 4) | l;
  }
}

/**
 * Percent-decodes `bytes[start, end)` ('+' is a space) into `out` from `at`, at the byte level (a
 * 1 MB batch is mostly `%XX` escapes); returns where the decoded bytes end. Throws on a malformed escape.
 * One table lookup per escape (both digits at once) and one index step per input token: this loop
 * is most of a webhook batch's decoding time.
 */
function decodeInto(bytes: Uint8Array, start: number, end: number, out: Buffer, at: number): number {
  let j = at;
  let i = start;
  const lastEscape = end - 2;
  while (i < end) {
    const c = bytes[i] as number;
    if (c === 0x25 /* % */) {
      const value =
        i < lastEscape ? (ESCAPE[((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number)] as number) : -1;
      if (value < 0) throw new FormBodyError(400, "The form body has a malformed percent-escape.");
      out[j++] = value;
      i += 3;
    } else {
      out[j++] = c === 0x2b /* + */ ? 0x20 : c;
      i++;
    }
  }
  return j;
}

function checkUtf8(value: Buffer): Buffer {
  if (!isUtf8(value)) throw new FormBodyError(400, "The form body is not valid UTF-8 once decoded.");
  return value;
}

/** A decoded form: each field's name, and its value as (valid) UTF-8 bytes. */
export interface FormBytes {
  names: string[];
  /**
   * Views of one buffer this call allocated with memory of its own (never a slice of Node's shared
   * pool): nothing else is in it, so a parse thread can move it whole to the main thread.
   */
  values: Buffer[];
}

/**
 * Decodes an `application/x-www-form-urlencoded` body into field names and value bytes, refusing
 * (400) invalid UTF-8, malformed percent-escapes and repeated field names (a repeated
 * `mandrill_events` is ambiguous: which one did Mandrill sign?). The values stay bytes: the webhook's
 * HMAC and its parser read them as they are, and a 1 MB batch never becomes one large string.
 */
export function decodeFormBytes(body: Buffer | string): FormBytes {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const out = Buffer.allocUnsafeSlow(bytes.length);
  const names: string[] = [];
  const values: Buffer[] = [];
  const seen = new Set<string>();
  let at = 0;
  let start = 0;
  while (start <= bytes.length) {
    let amp = bytes.indexOf(0x26 /* & */, start);
    if (amp === -1) amp = bytes.length;
    if (amp > start) {
      let eq = bytes.indexOf(0x3d /* = */, start);
      if (eq === -1 || eq > amp) eq = amp;
      const nameEnd = decodeInto(bytes, start, eq, out, at);
      const name = checkUtf8(out.subarray(at, nameEnd)).toString("utf8");
      const valueEnd = eq === amp ? nameEnd : decodeInto(bytes, eq + 1, amp, out, nameEnd);
      const value = checkUtf8(out.subarray(nameEnd, valueEnd));
      if (seen.has(name))
        throw new FormBodyError(400, `The form field "${name.slice(0, 40)}" appears more than once.`);
      seen.add(name);
      names.push(name);
      values.push(value);
      at = valueEnd;
    }
    start = amp + 1;
  }
  return { names, values };
}

/** The fields of a decoded form as strings. */
export function formStrings(form: FormBytes): Record<string, string> {
  const fields: Record<string, string> = Object.create(null);
  form.names.forEach((name, i) => {
    fields[name] = (form.values[i] as Buffer).toString("utf8");
  });
  return fields;
}

/**
 * Decodes an `application/x-www-form-urlencoded` body into fields (see {@link decodeFormBytes} for
 * what is refused).
 */
export function decodeFormBody(body: Buffer | string): Record<string, string> {
  return formStrings(decodeFormBytes(body));
}

/**
 * Fields from a body a host parser already consumed (`express.urlencoded()` before the router): an
 * object of strings is used as is; arrays (repeated fields) and nested objects are refused.
 */
export function fieldsFromParsedBody(body: unknown): Record<string, string> {
  if (Buffer.isBuffer(body) || typeof body === "string") return decodeFormBody(body);
  if (body === null || typeof body !== "object")
    throw new FormBodyError(400, "The form body could not be read.");
  const fields: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value))
      throw new FormBodyError(400, `The form field "${name.slice(0, 40)}" appears more than once.`);
    if (typeof value !== "string")
      throw new FormBodyError(400, `The form field "${name.slice(0, 40)}" is not a plain value.`);
    fields[name] = value;
  }
  return fields;
}
