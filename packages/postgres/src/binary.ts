/**
 * Array parameters in PostgreSQL's binary format. `pg` sends a `Buffer` parameter as binary (format
 * code 1) and anything else as text; its text form of an array escapes and quotes every element, and
 * the server parses it back the same way, both ~2 ms per 1,000-event batch. In binary each element is
 * its length and its bytes (UTF-8 for text, big-endian for integers): nothing to escape or parse, and
 * the server checks the UTF-8 as it does for text. Layout (array_recv): ndim, has-nulls flag, element
 * type OID, then per dimension its length and lower bound, then each element (length -1: NULL).
 */

const TEXT_OID = 25;
const INT8_OID = 20;
const INT4_OID = 23;
const HEADER = 20;

function writeHeader(buf: Buffer, oid: number, length: number, hasNull: boolean): void {
  buf.writeInt32BE(1, 0);
  buf.writeInt32BE(hasNull ? 1 : 0, 4);
  buf.writeInt32BE(oid, 8);
  buf.writeInt32BE(length, 12);
  buf.writeInt32BE(1, 16);
}

const NON_ASCII = /[\u0080-\uffff]/; // any UTF-16 unit outside ASCII (surrogates too)

/** The 4 bytes of a big-endian int32 as 4 characters of codes 0-255 (for a latin1 write). */
function int32Chars(n: number): string {
  return String.fromCharCode((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/** {@link int32Chars} of the lengths below 1,024, made once (the usual lengths of keys and addresses). */
const SHORT_LENGTHS = Array.from({ length: 1024 }, (_, n) => int32Chars(n));
const NULL_LENGTH = int32Chars(-1);

/**
 * A `text[]` parameter (`null` and `undefined` elements are NULL; others are sent as `String(v)`, as
 * `pg` does for text). When every text is ASCII (keys, types, addresses, ids: UTF-8 is then one byte
 * per character), the elements and their length words are joined into one string written in one call
 * as latin1 (one byte per character code, 0-255): a write per element costs more than its bytes.
 * Otherwise sized for the worst case (3 bytes of UTF-8 per UTF-16 unit), written in one pass.
 */
export function textArray(values: readonly unknown[]): Buffer {
  const texts = values.map((v) => (v === null || v === undefined ? null : String(v)));
  if (!NON_ASCII.test(texts.join(""))) {
    let hasNull = false;
    const parts: string[] = [];
    for (const t of texts) {
      if (t === null) {
        hasNull = true;
        parts.push(NULL_LENGTH);
      } else {
        parts.push(SHORT_LENGTHS[t.length] ?? int32Chars(t.length), t);
      }
    }
    const joined = parts.join("");
    const buf = Buffer.allocUnsafe(HEADER + joined.length);
    buf.write(joined, HEADER, "latin1");
    writeHeader(buf, TEXT_OID, texts.length, hasNull);
    return buf;
  }
  let max = HEADER;
  for (const t of texts) max += 4 + (t === null ? 0 : t.length * 3);
  const buf = Buffer.allocUnsafe(max);
  let at = HEADER;
  let hasNull = false;
  for (const t of texts) {
    if (t === null) {
      buf.writeInt32BE(-1, at);
      at += 4;
      hasNull = true;
      continue;
    }
    const n = buf.write(t, at + 4, "utf8");
    buf.writeInt32BE(n, at);
    at += 4 + n;
  }
  writeHeader(buf, TEXT_OID, texts.length, hasNull);
  return buf.subarray(0, at);
}

/**
 * A `bigint[]` parameter of safe integers (`null` and `undefined` elements are NULL). Values that are
 * not all safe integers are returned as they are, for `pg` to send as text and the server to refuse.
 */
export function int8Array(values: readonly (number | null | undefined)[]): Buffer | readonly unknown[] {
  if (!values.every((v) => v === null || v === undefined || Number.isSafeInteger(v))) return values;
  const buf = Buffer.allocUnsafe(HEADER + values.length * 12);
  let at = HEADER;
  let hasNull = false;
  for (const v of values) {
    if (v === null || v === undefined) {
      buf.writeInt32BE(-1, at);
      at += 4;
      hasNull = true;
      continue;
    }
    const high = Math.floor(v / 0x1_0000_0000);
    buf.writeInt32BE(8, at);
    buf.writeInt32BE(high, at + 4);
    buf.writeUInt32BE(v - high * 0x1_0000_0000, at + 8);
    at += 12;
  }
  writeHeader(buf, INT8_OID, values.length, hasNull);
  return buf.subarray(0, at);
}

/** An `int[]` parameter of 32-bit integers, none NULL. */
export function int4Array(values: readonly number[]): Buffer {
  const buf = Buffer.allocUnsafe(HEADER + values.length * 8);
  let at = HEADER;
  for (const v of values) {
    buf.writeInt32BE(4, at);
    buf.writeInt32BE(v, at + 4);
    at += 8;
  }
  writeHeader(buf, INT4_OID, values.length, false);
  return buf;
}
