/**
 * The events' JSON texts travel to PostgreSQL as one bytea with byte offsets (ingest.ts, packTexts),
 * not as an escaped text[]: every text must come back exactly, whatever its characters and wherever
 * a multi-byte character falls, including when duplicates in the batch are left out, and whether it
 * is given as a string or as its UTF-8 bytes.
 */
import type { InboxEventInput } from "@mandrill-kit/core";
import { Utf8InboxEvent } from "@mandrill-kit/core/plugin";
import { openPostgresStore } from "@mandrill-kit/postgres";
import { afterAll, describe, expect, it, vi } from "vitest";
import { type PackedTexts, packTexts } from "../src/ingest.js";
import { available, databaseUrl, dropSchema, freshSchema } from "./database.js";

const TEXTS = [
  "{}",
  '{"event":"send","msg":{"subject":"caf\u00e9 \u65e5\u672c \ud83d\udce8","email":"a@example.com"}}',
  '{"quote":"\\"q\\" and \\\\ back","tab":"\\t","u":"\\u0000\\u00e9"}',
  "\ud83d\ude00".repeat(300),
  '{"array":[1,2,{"k":"\u00fc"}],"long":"' + "x".repeat(5000) + '"}',
  '{"\u00e9":"\u20ac"}',
];

/** Each packed text, decoded. */
function unpacked({ bytes, starts, ends }: PackedTexts): string[] {
  return starts.map((start, i) => bytes.subarray(start, ends[i]).toString("utf8"));
}

/** TEXTS as views into one buffer holding the JSON array of them (as the router's parse job gives them). */
function viewsOfOneBuffer(): { whole: Buffer; views: Uint8Array[] } {
  const whole = Buffer.from(`[${TEXTS.join(",")}]`, "utf8");
  const views: Uint8Array[] = [];
  let at = 1;
  for (const t of TEXTS) {
    const length = Buffer.byteLength(t, "utf8");
    views.push(whole.subarray(at, at + length));
    at += length + 1;
  }
  return { whole, views };
}

describe("packTexts", () => {
  it("packs UTF-8 texts end to end with the byte range of each", () => {
    const packed = packTexts(TEXTS);
    expect(unpacked(packed)).toEqual(TEXTS);
    expect(packed.ends.at(-1)).toBe(packed.bytes.length);
    expect(packTexts([])).toEqual({ bytes: Buffer.alloc(0), starts: [], ends: [] });
  });

  it("copies texts given as UTF-8 bytes (views into a larger buffer) between strings", () => {
    const { whole, views } = viewsOfOneBuffer();
    const mixed = TEXTS.map((t, i) => (i % 2 === 0 ? (views[i] as Uint8Array) : t));
    const packed = packTexts(mixed);
    expect(unpacked(packed)).toEqual(TEXTS);
    expect(packed.bytes.buffer).not.toBe(whole.buffer);
    expect(packed.ends.at(-1)).toBe(packed.bytes.length);
  });

  it("sends views of one buffer, in order, as that buffer's span: nothing copied", () => {
    const { whole, views } = viewsOfOneBuffer();
    const packed = packTexts(views);
    expect(unpacked(packed)).toEqual(TEXTS);
    expect(packed.bytes.buffer).toBe(whole.buffer);
    // From the first text to the last: the array's brackets are left out, the commas between kept.
    expect(packed.bytes.byteOffset).toBe(whole.byteOffset + 1);
    expect(packed.bytes.length).toBe(whole.length - 2);
    // Whitespace between the texts (a pretty-printed array) is sent along too.
    const spaced = Buffer.from(`[\n  ${TEXTS.join(",\n  ")}\r\n\t]`, "utf8");
    const spacedViews = TEXTS.map((t) => {
      const at = spaced.indexOf(Buffer.from(t, "utf8"));
      return spaced.subarray(at, at + Buffer.byteLength(t, "utf8"));
    });
    expect(unpacked(packTexts(spacedViews))).toEqual(TEXTS);
    expect(packTexts(spacedViews).bytes.buffer).toBe(spaced.buffer);
  });

  it("copies views with anything but separators between them, out of order, overlapping or of several buffers", () => {
    const { views } = viewsOfOneBuffer();
    const [a, b, c] = views as [Uint8Array, Uint8Array, Uint8Array];
    const other = Buffer.from(TEXTS[1] as string, "utf8");
    // Texts of Node's shared allocation pool, with whatever else it holds between them.
    const pooled = [Buffer.from("{}"), Buffer.from("secret"), Buffer.from("[]")] as [Buffer, Buffer, Buffer];
    const cases: [Uint8Array[], string[]][] = [
      // An event left out between two others (a duplicate in the batch).
      [[a, c], [TEXTS[0], TEXTS[2]] as string[]],
      [[b, a], [TEXTS[1], TEXTS[0]] as string[]],
      [[a, a], [TEXTS[0], TEXTS[0]] as string[]],
      [[a, other, c], [TEXTS[0], TEXTS[1], TEXTS[2]] as string[]],
      [
        [pooled[0], pooled[2]],
        ["{}", "[]"],
      ],
    ];
    // Two buffers of their own (not the pool) laid out alike: the second text sits where the first
    // buffer has its second text, so only the check that both views share one buffer tells them apart.
    const one = new Uint8Array(Buffer.from('[{"a":1},{"b":2}]'));
    const two = new Uint8Array(Buffer.from('[{"x":9},{"y":8}]'));
    cases.push([
      [one.subarray(1, 8), two.subarray(9, 16)],
      ['{"a":1}', '{"y":8}'],
    ]);
    // One stray byte (anything but a comma or whitespace) anywhere between two texts.
    for (const stray of ["X", '"', "\0", "\u0001", "{"]) {
      for (const gap of [stray, `,${stray}`, `${stray},`, ` ${stray} `, `,\n${stray}\n,`]) {
        const whole = new Uint8Array(Buffer.from(`[{"a":1}${gap}{"b":2}]`));
        cases.push([
          [whole.subarray(1, 8), whole.subarray(8 + gap.length, 15 + gap.length)],
          ['{"a":1}', '{"b":2}'],
        ]);
      }
    }
    // Views of shared memory: another thread could change the bytes between them after the check.
    const shared = new Uint8Array(new SharedArrayBuffer(16));
    shared.set(Buffer.from('{"a":1},{"b":2}'));
    cases.push([
      [shared.subarray(0, 7), shared.subarray(8, 15)],
      ['{"a":1}', '{"b":2}'],
    ]);
    for (const [texts, expected] of cases) {
      const packed = packTexts(texts);
      expect(unpacked(packed)).toEqual(expected);
      // Copied end to end: nothing but the texts is sent.
      expect(packed.bytes.toString("utf8")).toBe(expected.join(""));
    }
  });
});

describe.skipIf(!available)("PostgreSQL ingest keeps each raw text exactly", () => {
  const schema = freshSchema("raw");
  afterAll(() => dropSchema(schema));

  it("round-trips every text, with in-batch duplicates and redelivered events left out", async () => {
    const store = await openPostgresStore({ connectionString: databaseUrl, schema });
    try {
      const event = (i: number, raw: string): InboxEventInput => ({
        key: `k${i}`,
        type: "send",
        email: `r${i}@example.com`,
        messageId: `m${i}`,
        eventAt: 1_700_000_000_000 + i,
        raw,
      });
      const first = TEXTS.map((t, i) => event(i, t));
      await store.inbox.ingest({ account: "acme", receivedAt: 1, events: first.slice(0, 2) });
      // k1 is redelivered, k3 repeated in the batch (its second text differs and must not be stored).
      const result = await store.inbox.ingest({
        account: "acme",
        receivedAt: 2,
        events: [...first.slice(1), event(3, '{"second":"\u00e9"}')],
      });
      expect(result.inserted).toEqual(["k2", "k3", "k4", "k5"]);
      expect(result.duplicates).toEqual(["k1", "k3"]);
      for (const [i, text] of TEXTS.entries())
        expect((await store.inbox.get("acme", `k${i}`))?.raw, `k${i}`).toBe(text);
    } finally {
      await store.close();
    }
  });

  it("stores texts given as views of one buffer (as the webhook router gives them) exactly", async () => {
    const store = await openPostgresStore({ connectionString: databaseUrl, schema });
    try {
      const { views } = viewsOfOneBuffer();
      const fields = (i: number) => ({
        key: `v${i}`,
        type: "send",
        email: null,
        messageId: null,
        eventAt: null,
        effects: [],
        state: "done" as const,
      });
      const events = views.map((v, i) => new Utf8InboxEvent(fields(i), v));
      expect(packTexts(views).bytes.buffer).toBe((views[0] as Uint8Array).buffer);
      await store.inbox.ingest({ account: "views", receivedAt: 4, events: events.slice(0, 2) });
      // Redelivered with the rest: the span is the same buffer, the stored ones are left out.
      const result = await store.inbox.ingest({ account: "views", receivedAt: 5, events });
      expect(result.inserted).toEqual(TEXTS.slice(2).map((_, i) => `v${i + 2}`));
      for (const [i, text] of TEXTS.entries())
        expect((await store.inbox.get("views", `v${i}`))?.raw, `v${i}`).toBe(text);
    } finally {
      await store.close();
    }
  });

  it("writes events given as UTF-8 bytes (rawUtf8) without decoding them", async () => {
    const store = await openPostgresStore({ connectionString: databaseUrl, schema });
    const decode = vi.spyOn(Utf8InboxEvent.prototype, "raw", "get");
    try {
      const events = TEXTS.map(
        (t, i) =>
          new Utf8InboxEvent(
            {
              key: `u${i}`,
              type: "send",
              email: null,
              messageId: null,
              eventAt: null,
              effects: [],
              state: "done",
            },
            Buffer.from(t, "utf8"),
          ),
      );
      expect((await store.inbox.ingest({ account: "bytes", receivedAt: 3, events })).inserted).toHaveLength(
        TEXTS.length,
      );
      expect(decode).not.toHaveBeenCalled();
      for (const [i, text] of TEXTS.entries())
        expect((await store.inbox.get("bytes", `u${i}`))?.raw, `u${i}`).toBe(text);
    } finally {
      decode.mockRestore();
      await store.close();
    }
  });
});
