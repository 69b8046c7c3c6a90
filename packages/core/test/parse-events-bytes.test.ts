import {
  parseMandrillEvents,
  parseMandrillEventsBytes,
  parseMandrillEventsBytesWithRanges,
} from "@mandrill-kit/core/plugin";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SPEC_EVENTS_JSON, SYNC_SAMPLE_ARRAY } from "./fixtures/spec-events.js";

const RUNS = { numRuns: 300 };

/** The bytes path must answer exactly what the string path answers for the same text. */
function same(text: string): void {
  expect(parseMandrillEventsBytes(Buffer.from(text, "utf8"))).toEqual(parseMandrillEvents(text));
}

/** JSON text of `value` with white space (JSON's four characters) sprinkled between tokens. */
const spaced = fc
  .tuple(
    fc.array(fc.jsonValue({ stringUnit: "binary" }), { maxLength: 6 }),
    fc.constantFrom("", " ", "\n\t ", "\r\n"),
  )
  .map(
    ([items, ws]) =>
      `${ws}[${ws}${items.map((v) => JSON.stringify(v, null, ws === "" ? 0 : 1)).join(`${ws},${ws}`)}${ws}]${ws}`,
  );

describe("parseMandrillEventsBytes", () => {
  it("reads the spec's batches exactly as parseMandrillEvents does", () => {
    same(SPEC_EVENTS_JSON);
    same(SYNC_SAMPLE_ARRAY);
    same("[]");
    same(" [ ] ");
  });

  it("answers what parseMandrillEvents answers for any JSON array, source text and problems included", () => {
    fc.assert(fc.property(spaced, same), RUNS);
  });

  it("answers what parseMandrillEvents answers for any JSON value and any string", () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: "binary" }), (v) => same(JSON.stringify(v))),
      RUNS,
    );
    fc.assert(fc.property(fc.string({ unit: "binary" }), same), RUNS);
  });

  it("refuses near-arrays the way JSON.parse does: trailing commas, holes, junk after, broken nesting", () => {
    for (const text of [
      "[1,]",
      "[,1]",
      "[1,,2]",
      "[1] x",
      "[{]}",
      '[{"a":"\\"}]',
      '[{"a":"\\\\"}]',
      "[}{]",
      '[{"a":1]}, 2]',
      "[1 2]",
      "[",
      "",
      "  ",
      '["\\u00e9", "\\/", "é\\\\"]',
    ])
      same(text);
  });

  it("keeps each event's exact source text with escaped quotes, backslashes and non-ASCII text", () => {
    const text =
      '[ {"event":"send","msg":{"subject":"a \\"q\\" \\\\ \\\\\\" ü 🎉 \\/"},"ts":1} , {"event":"open"} ]';
    const outcome = parseMandrillEventsBytes(Buffer.from(text));
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.events.map((e) => e.rawJson)).toEqual([
      '{"event":"send","msg":{"subject":"a \\"q\\" \\\\ \\\\\\" ü 🎉 \\/"},"ts":1}',
      '{"event":"open"}',
    ]);
    same(text);
  });

  it("reads invalid UTF-8 as U+FFFD, like toString", () => {
    const bytes = Buffer.concat([
      Buffer.from('[{"event":"send","x":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}]'),
    ]);
    expect(parseMandrillEventsBytes(bytes)).toEqual(parseMandrillEvents(bytes.toString("utf8")));
  });
});

describe("parseMandrillEventsBytesWithRanges", () => {
  it("gives, for each event, the byte range of its exact source text", () => {
    const text = '[ {"event":"send","msg":{"subject":"ü 🎉 \\\\"}} ,\n{"event":"open"},[1] ]';
    const bytes = Buffer.from(text);
    const { outcome, ranges } = parseMandrillEventsBytesWithRanges(bytes);
    expect(outcome).toEqual(parseMandrillEvents(text));
    if (!outcome.ok || ranges === undefined) throw new Error("the bytes path must read this batch");
    expect(ranges).toHaveLength(2 * outcome.events.length);
    outcome.events.forEach((e, i) => {
      expect(bytes.toString("utf8", ranges[2 * i], ranges[2 * i + 1])).toBe(e.rawJson);
    });
  });

  it("gives no ranges when the batch went the string path (invalid UTF-8, a piece that is not JSON)", () => {
    const invalid = Buffer.concat([Buffer.from('[{"x":"'), Buffer.from([0xff]), Buffer.from('"}]')]);
    expect(parseMandrillEventsBytesWithRanges(invalid).ranges).toBeUndefined();
    const notJson = Buffer.from('[{"a":1}, {"b":nope}]');
    const read = parseMandrillEventsBytesWithRanges(notJson);
    expect(read.ranges).toBeUndefined();
    expect(read.outcome).toEqual(parseMandrillEvents(notJson.toString()));
  });
});
