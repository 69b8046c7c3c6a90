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
import { packTexts } from "../src/ingest.js";
import { available, databaseUrl, dropSchema, freshSchema } from "./database.js";

const TEXTS = [
  "{}",
  '{"event":"send","msg":{"subject":"caf\u00e9 \u65e5\u672c \ud83d\udce8","email":"a@example.com"}}',
  '{"quote":"\\"q\\" and \\\\ back","tab":"\\t","u":"\\u0000\\u00e9"}',
  "\ud83d\ude00".repeat(300),
  '{"array":[1,2,{"k":"\u00fc"}],"long":"' + "x".repeat(5000) + '"}',
  '{"\u00e9":"\u20ac"}',
];

describe("packTexts", () => {
  it("packs UTF-8 texts end to end with the byte offset of each", () => {
    const { bytes, offsets } = packTexts(TEXTS);
    expect(offsets).toHaveLength(TEXTS.length + 1);
    for (const [i, t] of TEXTS.entries())
      expect(bytes.subarray(offsets[i], offsets[i + 1]).toString("utf8")).toBe(t);
    expect(offsets.at(-1)).toBe(bytes.length);
    expect(packTexts([])).toEqual({ bytes: Buffer.alloc(0), offsets: [0] });
  });

  it("copies texts given as UTF-8 bytes (views into a larger buffer) between strings", () => {
    const whole = Buffer.from(`[${TEXTS.join(",")}]`, "utf8");
    const views: Uint8Array[] = [];
    let at = 1;
    for (const t of TEXTS) {
      const length = Buffer.byteLength(t, "utf8");
      views.push(whole.subarray(at, at + length));
      at += length + 1;
    }
    const mixed = TEXTS.map((t, i) => (i % 2 === 0 ? (views[i] as Uint8Array) : t));
    const { bytes, offsets } = packTexts(mixed);
    for (const [i, t] of TEXTS.entries())
      expect(bytes.subarray(offsets[i], offsets[i + 1]).toString("utf8"), `text ${i}`).toBe(t);
    expect(offsets.at(-1)).toBe(bytes.length);
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
