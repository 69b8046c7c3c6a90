/**
 * {@link parseMandrillEventsBytes}: the same reading as `parseMandrillEvents`, from the UTF-8 bytes of
 * `mandrill_events` (what the webhook router's form decoder produces), without first building the
 * whole value as one string. A 1,000-event batch is ~700 kB of text: as one string V8 allocates it
 * in its large-object space (fresh pages every batch, then a collection); as one string per event,
 * each is a small young-generation allocation, and each event's exact source text is that string.
 */
import { isUtf8 } from "node:buffer";
import { classifyAll, type ParseOutcome, parseMandrillEvents } from "./parse-events.js";

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The [start, end) byte ranges of the elements of the top-level JSON array in `bytes`, white space
 * trimmed, or `undefined` when the text is not a well-framed array (then the string path decides).
 * Strings are skipped with a native search for their closing quote (not escaped by an odd run of
 * backslashes); brackets and braces are only counted, so a piece may still be invalid JSON — each
 * piece is then parsed on its own, and any failure sends the whole batch down the string path.
 */
function elementRanges(bytes: Buffer): number[] | undefined {
  const n = bytes.length;
  let i = 0;
  while (i < n && isSpace(bytes[i] as number)) i++;
  if (bytes[i] !== 0x5b /* [ */) return undefined;
  const ranges: number[] = [];
  let depth = 0;
  let start = -1;
  let last = -1;
  for (i++; i < n; i++) {
    const c = bytes[i] as number;
    if (c === 0x22 /* " */) {
      if (start === -1) start = i;
      let q = i;
      for (;;) {
        q = bytes.indexOf(0x22, q + 1);
        if (q === -1) return undefined;
        let backslashes = 0;
        for (let b = q - 1; bytes[b] === 0x5c /* \ */; b--) backslashes++;
        if (backslashes % 2 === 0) break;
      }
      i = q;
      last = q;
      continue;
    }
    if (isSpace(c)) continue;
    if (c === 0x2c /* , */ && depth === 0) {
      if (start === -1) return undefined;
      ranges.push(start, last + 1);
      start = -1;
      continue;
    }
    if (c === 0x5d /* ] */ && depth === 0) {
      if (start !== -1) ranges.push(start, last + 1);
      else if (ranges.length > 0) return undefined; // a trailing comma
      for (i++; i < n; i++) if (!isSpace(bytes[i] as number)) return undefined;
      return ranges;
    }
    if (start === -1) start = i;
    last = i;
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) depth++;
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return undefined;
}

/**
 * Reads `mandrill_events` given as UTF-8 bytes: the same outcome as
 * `parseMandrillEvents(bytes.toString("utf8"))` (every event, its exact source text, the same
 * problems; for text that is not a JSON array the same `ok: false`), built per event. Invalid UTF-8
 * reads as U+FFFD, as `toString` does.
 */
export function parseMandrillEventsBytes(bytes: Uint8Array): ParseOutcome {
  return parseMandrillEventsBytesWithRanges(bytes).outcome;
}

/**
 * {@link parseMandrillEventsBytes}, and where each event's source text lies in `bytes`: `ranges`
 * holds [start, end) byte offsets, two per event in batch order, so event i's `rawJson` is exactly
 * the UTF-8 of `bytes[ranges[2i], ranges[2i + 1])`. `undefined` when the text went the string path
 * (not valid UTF-8, not a well-framed array, or a piece that is not JSON on its own).
 */
export function parseMandrillEventsBytesWithRanges(bytes: Uint8Array): {
  outcome: ParseOutcome;
  ranges: readonly number[] | undefined;
} {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ranges = isUtf8(buf) ? elementRanges(buf) : undefined;
  if (ranges !== undefined) {
    const count = ranges.length / 2;
    const raws: string[] = new Array(count);
    const items: unknown[] = new Array(count);
    try {
      for (let k = 0; k < count; k++) {
        const raw = buf.toString("utf8", ranges[2 * k], ranges[2 * k + 1]);
        raws[k] = raw;
        items[k] = JSON.parse(raw);
      }
      return { outcome: classifyAll(items, raws), ranges };
    } catch {
      // Not valid JSON after all: the string path gives the answer (and its message).
    }
  }
  return { outcome: parseMandrillEvents(buf.toString("utf8")), ranges: undefined };
}
