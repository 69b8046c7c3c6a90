import type { InboxEventInput } from "@mandrill-kit/core";
import { describe, expect, it } from "vitest";
import { inputsFromColumns, packInputs } from "../src/parse-job.js";
import { plainInputs } from "./helpers.js";

const input = (i: number, over: Partial<InboxEventInput> = {}): InboxEventInput => ({
  key: `1700000000:send:id-${i}`,
  type: "send",
  email: `user${i}@example.com`,
  messageId: `id-${i}`,
  eventAt: 1_700_000_000_000 + i,
  raw: `{"event":"send","_id":"id-${i}"}`,
  effects: [],
  state: "pending",
  ...over,
});

/** The inputs after the trip through a parse thread's packed columns (texts as UTF-8 bytes). */
const roundTrip = (inputs: InboxEventInput[]) => {
  const events = inputsFromColumns(packInputs(inputs));
  expect(events.map((e) => e.rawUtf8 instanceof Uint8Array)).toEqual(inputs.map(() => true));
  return plainInputs(events);
};

describe("packed inbox inputs", () => {
  it("come back unchanged when every field is ASCII (packed one byte a character)", () => {
    const inputs = [input(0), input(1, { email: null, messageId: null, eventAt: null, state: "done" })];
    expect(packInputs(inputs).ascii).toBe(true);
    expect(roundTrip(inputs)).toEqual(inputs);
  });

  it("come back unchanged wherever the first non-ASCII field is: first, in the middle, last", () => {
    const n = 6;
    for (const at of [0, 2, n - 1]) {
      const inputs = Array.from({ length: n }, (_, i) =>
        input(i, i === at ? { raw: '{"subject":"Your order — shipped 📦"}', email: "zoë@exämple.com" } : {}),
      );
      expect(packInputs(inputs).ascii, `non-ASCII at ${at}`).toBe(false);
      expect(roundTrip(inputs), `non-ASCII at ${at}`).toEqual(inputs);
    }
  });

  it("keep a lone surrogate as it is (UTF-16 code units), with effects and states", () => {
    const inputs = [
      input(0, { messageId: "id-\ud800", key: "1700000000:send:digest" }),
      input(1, {
        effects: [
          {
            op: "suppress",
            email: "a@b.com",
            reason: "hard-bounce",
            source: "webhook",
            detail: null,
            expiresAt: null,
          },
        ],
        state: "done",
      }),
    ];
    expect(roundTrip(inputs)).toEqual(inputs);
  });

  it("use the bytes the events were read from as the texts, without copying them", () => {
    const texts = ['{"event":"send","_id":"id-0"}', '{"event":"open","subject":"Zoë 📦"}'];
    const bytes = Buffer.from(`xx[${texts.join(" , ")}]`).subarray(2);
    const ranges: number[] = [];
    let at = 1;
    for (const t of texts) {
      ranges.push(at, at + Buffer.byteLength(t));
      at += Buffer.byteLength(t) + 3;
    }
    const inputs = texts.map((raw, i) => input(i, { raw }));
    const columns = packInputs(inputs, { bytes, ranges });
    expect(columns.raws).toBe(bytes);
    expect(plainInputs(inputsFromColumns(columns))).toEqual(inputs);
    const [first] = inputsFromColumns(columns);
    expect(first?.rawUtf8?.buffer).toBe(bytes.buffer);
  });
});
