import type { MandrillEvent } from "@mandrill-kit/core";
import { type ParsedBatch, parseMandrillEvents, parseStoredEvent } from "@mandrill-kit/core/plugin";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  INBOUND_EVENT_SAMPLE,
  MESSAGE_EVENT_SAMPLES,
  SPEC_EVENTS_JSON,
  SYNC_EVENT_SAMPLES,
  SYNC_SAMPLE_ARRAY,
} from "./fixtures/spec-events.js";

const RUNS = { numRuns: 300 };

function parsed(text: string): ParsedBatch {
  const outcome = parseMandrillEvents(text);
  if (!outcome.ok) throw new Error(`expected a readable batch, got ${outcome.reason}: ${outcome.message}`);
  return outcome;
}

function only(text: string): { event: MandrillEvent; batch: ParsedBatch } {
  const batch = parsed(`[${text}]`);
  expect(batch.events).toHaveLength(1);
  return { event: batch.events[0] as MandrillEvent, batch };
}

/** What `JSON.parse` makes of `text`, or `undefined` when it throws. */
function jsonParse(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

const JSON_SPACE = fc
  .array(fc.constantFrom(" ", "\n", "\t", "\r", "\r\n"), { maxLength: 3 })
  .map((a) => a.join(""));

/**
 * Serialises a JSON value with the given white space between every token and `/` written as `\/`
 * when `escapeSlashes` is set, as some encoders do (PHP's json_encode, which Mandrill uses).
 */
function serialise(value: unknown, space: () => string, escapeSlashes: boolean): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return `[${space()}]`;
    const items = value.map((item) => serialise(item, space, escapeSlashes));
    return `[${space()}${items.join(`${space()},${space()}`)}${space()}]`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return `{${space()}}`;
    const members = entries.map(
      ([key, item]) =>
        `${scalar(key, escapeSlashes)}${space()}:${space()}${serialise(item, space, escapeSlashes)}`,
    );
    return `{${space()}${members.join(`${space()},${space()}`)}${space()}}`;
  }
  return scalar(value, escapeSlashes);
}

function scalar(value: unknown, escapeSlashes: boolean): string {
  const text = JSON.stringify(value);
  return escapeSlashes ? text.replaceAll("/", "\\/") : text;
}

describe("parseMandrillEvents: any input", () => {
  it("never throws on any string and is unreadable only when the text is not a JSON array", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" })),
        (text) => {
          const outcome = parseMandrillEvents(text);
          const json = jsonParse(text);
          if (json === undefined) {
            expect(outcome).toMatchObject({ ok: false, reason: "invalid-json" });
          } else if (!Array.isArray(json.value)) {
            expect(outcome).toMatchObject({ ok: false, reason: "not-an-array" });
          } else {
            expect(outcome.ok).toBe(true);
          }
        },
      ),
      RUNS,
    );
  });

  it("never throws on any JSON value and reads every array", () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: "binary" }), (value) => {
        const text = JSON.stringify(value);
        const outcome = parseMandrillEvents(text);
        if (Array.isArray(value)) {
          expect(outcome.ok).toBe(true);
        } else {
          expect(outcome).toMatchObject({ ok: false, reason: "not-an-array" });
        }
      }),
      RUNS,
    );
  });

  it("never throws when a JavaScript caller passes something that is not a string", () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        fc.pre(typeof value !== "string");
        expect(parseMandrillEvents(value as string).ok).toBe(false);
      }),
      RUNS,
    );
  });

  it("returns one event per array element, in order, each with its exact source text", () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ stringUnit: "binary" }), { maxLength: 8 }), (items) => {
        const text = JSON.stringify(items);
        const batch = parsed(text);
        const elements = JSON.parse(text) as unknown[];
        expect(batch.events).toHaveLength(items.length);
        batch.events.forEach((event, index) => {
          expect(event.index).toBe(index);
          expect(JSON.parse(event.rawJson)).toEqual(elements[index]);
          expect(event.rawJson).toBe(JSON.stringify(items[index]));
        });
      }),
      RUNS,
    );
  });

  it("keeps each element's source text byte for byte with any white space and \\/ escapes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue({ stringUnit: "binary" }), { maxLength: 6 }),
        fc.array(JSON_SPACE, { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        (items, spaces, escapeSlashes) => {
          let n = 0;
          const space = () => spaces[n++ % spaces.length] as string;
          const sources = items.map((item) => serialise(item, space, escapeSlashes));
          const text = `${space()}[${space()}${sources.join(`${space()},${space()}`)}${space()}]${space()}`;
          const batch = parsed(text);
          const elements = JSON.parse(text) as unknown[];
          expect(batch.events).toHaveLength(items.length);
          batch.events.forEach((event, index) => {
            expect(event.rawJson).toBe(sources[index]);
            expect(JSON.parse(event.rawJson)).toEqual(elements[index]);
          });
        },
      ),
      RUNS,
    );
  });

  it("keeps each element's source text when the batch is pretty-printed", () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { maxLength: 6 }),
        fc.constantFrom(1, 2, 4, "\t"),
        (items, indent) => {
          const text = JSON.stringify(items, null, indent);
          const batch = parsed(text);
          const elements = JSON.parse(text) as unknown[];
          expect(batch.events).toHaveLength(items.length);
          batch.events.forEach((event, index) => {
            expect(text).toContain(event.rawJson);
            expect(event.rawJson).toBe(event.rawJson.trim());
            expect(JSON.parse(event.rawJson)).toEqual(elements[index]);
          });
        },
      ),
      RUNS,
    );
  });

  it("keeps an escaped slash as Mandrill wrote it", () => {
    const source = String.raw`{"event":"click","_id":"m1","ts":1,"url":"http:\/\/example.com\/a","msg":{"email":"a@example.com"}}`;
    const { event } = only(source);
    expect(event.rawJson).toBe(source);
    expect(event.payload).toMatchObject({ url: "http://example.com/a" });
  });

  it.each([
    ["an empty string", "", "invalid-json"],
    ["truncated JSON", '[{"event":"send"', "invalid-json"],
    ["a form-encoded body", "mandrill_events=%5B%5D", "invalid-json"],
    ["a JSON object", '{"event":"send"}', "not-an-array"],
    ["JSON null", "null", "not-an-array"],
    ["a JSON string", '"[]"', "not-an-array"],
  ])("reports %s as unreadable (%s)", (_label, text, reason) => {
    const outcome = parseMandrillEvents(text);
    expect(outcome).toMatchObject({ ok: false, reason });
    if (!outcome.ok) expect(outcome.message).toContain("mandrill_events");
  });

  it("reads an empty array as an empty batch", () => {
    expect(parseMandrillEvents("[]")).toEqual({ ok: true, events: [], problems: [] });
  });
});

describe("parseMandrillEvents: the samples of docs/mandrill.md#webhooks", () => {
  const messageIdSuffix: Record<keyof typeof MESSAGE_EVENT_SAMPLES, string> = {
    send: "",
    deferral: "1",
    hard_bounce: "2",
    soft_bounce: "3",
    open: "4",
    click: "5",
    spam: "6",
    unsub: "7",
    reject: "8",
    delivered: "9",
  };

  it.each(Object.entries(MESSAGE_EVENT_SAMPLES))("reads the %s sample as a message event", (type, text) => {
    const { event, batch } = only(text);
    expect(batch.problems).toEqual([]);
    expect(event).toMatchObject({
      category: "message",
      type,
      index: 0,
      ts: 1428129133,
      email: "example.webhook@mandrillapp.com",
      messageId: `exampleaaaaaaaaaaaaaaaaaaaaaaaaa${messageIdSuffix[type as keyof typeof MESSAGE_EVENT_SAMPLES]}`,
      rawJson: text,
    });
    expect(event.payload).toEqual(JSON.parse(text));
  });

  it.each([
    ["blacklist_add", "blacklist", "add", "bob@example.net", 1438785792],
    ["blacklist_remove", "blacklist", "remove", "bob@example.net", 1438785792],
    ["blacklist_change", "blacklist", "change", "bob@example.net", 1438785900],
    ["whitelist_add", "whitelist", "add", "ops@example.com", 1438786546],
    ["whitelist_remove", "whitelist", "remove", "ops@example.com", 1438786546],
  ] as const)("reads the %s sample as a sync event", (name, type, action, email, ts) => {
    const text = SYNC_EVENT_SAMPLES[name];
    const { event, batch } = only(text);
    expect(batch.problems).toEqual([]);
    expect(event).toMatchObject({
      category: "sync",
      type,
      action,
      email,
      ts,
      messageId: null,
      rawJson: text,
    });
    expect(event.payload).toEqual(JSON.parse(text));
  });

  it("reads the sync sample array as printed in docs/mandrill.md#sync-events", () => {
    const batch = parsed(SYNC_SAMPLE_ARRAY);
    expect(batch.problems).toEqual([]);
    expect(batch.events.map((e) => [e.type, "action" in e ? e.action : undefined, e.email])).toEqual([
      ["blacklist", "add", "bob@example.net"],
      ["whitelist", "add", "ops@example.com"],
    ]);
    expect(batch.events.map((e) => e.rawJson)).toEqual([
      SYNC_EVENT_SAMPLES.blacklist_add,
      SYNC_EVENT_SAMPLES.whitelist_add,
    ]);
  });

  it("reads the inbound sample as an inbound event for the route's address", () => {
    const { event, batch } = only(INBOUND_EVENT_SAMPLE);
    expect(batch.problems).toEqual([]);
    expect(event).toMatchObject({
      category: "inbound",
      type: "inbound",
      ts: 1368214102,
      email: "support@inbound.example.com",
      messageId: null,
      rawJson: INBOUND_EVENT_SAMPLE,
    });
    expect(event.payload).toEqual(JSON.parse(INBOUND_EVENT_SAMPLE));
  });

  it("reads every sample in one batch, in order, with no problems", () => {
    const batch = parsed(SPEC_EVENTS_JSON);
    const samples = [
      ...Object.values(MESSAGE_EVENT_SAMPLES),
      ...Object.values(SYNC_EVENT_SAMPLES),
      INBOUND_EVENT_SAMPLE,
    ];
    expect(batch.problems).toEqual([]);
    expect(batch.events.map((e) => e.rawJson)).toEqual(samples);
    expect(batch.events.map((e) => e.index)).toEqual(samples.map((_, i) => i));
    expect(batch.events.map((e) => e.type)).toEqual([
      "send",
      "deferral",
      "hard_bounce",
      "soft_bounce",
      "open",
      "click",
      "spam",
      "unsub",
      "reject",
      "delivered",
      "blacklist",
      "blacklist",
      "blacklist",
      "whitelist",
      "whitelist",
      "inbound",
    ]);
    expect(batch.events.some((e) => e.type === "unknown")).toBe(false);
  });

  it("normalises the recipient address", () => {
    const text = MESSAGE_EVENT_SAMPLES.hard_bounce.replace(
      '"email":"example.webhook@mandrillapp.com"',
      '"email":"  Example.Webhook@MandrillApp.COM "',
    );
    expect(only(text).event.email).toBe("example.webhook@mandrillapp.com");
    const sync = SYNC_EVENT_SAMPLES.blacklist_add.replace(
      '"email":"bob@example.net"',
      '"email":"BOB@Example.NET"',
    );
    expect(only(sync).event.email).toBe("bob@example.net");
  });

  it("keeps keys it does not know in the payload", () => {
    const text = MESSAGE_EVENT_SAMPLES.send.replace(
      '{"event":"send",',
      '{"event":"send","brand_new":{"nested":[1,2]},"sms":null,',
    );
    const { event, batch } = only(text.replace('"state":"sent"', '"state":"sent","msg_new_key":"kept"'));
    expect(batch.problems).toEqual([]);
    expect(event.payload).toMatchObject({
      brand_new: { nested: [1, 2] },
      sms: null,
      msg: { msg_new_key: "kept" },
    });
  });

  it("takes the message id from msg._id when the top-level _id is absent", () => {
    const { event } = only('{"event":"open","ts":5,"msg":{"_id":"inner-id","email":"a@example.com"}}');
    expect(event.messageId).toBe("inner-id");
  });
});

describe("parseMandrillEvents: events that are not as documented", () => {
  it("keeps an unknown event name as an unknown event, with a problem naming it", () => {
    const text = '{"event":"sms_delivered","_id":"m1","ts":7,"msg":{"email":"A@Example.com"}}';
    const batch = parsed(`[${MESSAGE_EVENT_SAMPLES.send},${text}]`);
    const event = batch.events[1];
    expect(event).toMatchObject({
      category: "unknown",
      type: "unknown",
      name: "sms_delivered",
      index: 1,
      ts: 7,
      messageId: "m1",
      email: "a@example.com",
      rawJson: text,
    });
    expect(event?.payload).toEqual(JSON.parse(text));
    expect(batch.problems).toEqual([
      { index: 1, path: "event", message: expect.stringContaining("sms_delivered") },
    ]);
  });

  it("keeps an unknown sync type as an unknown event", () => {
    const { event, batch } = only('{"type":"greylist","action":"add","ts":3}');
    expect(event).toMatchObject({ type: "unknown", name: "greylist" });
    expect(batch.problems).toEqual([
      { index: 0, path: "event", message: expect.stringContaining("greylist") },
    ]);
  });

  it("keeps an object without event or type as an unknown event", () => {
    const { event, batch } = only('{"hello":"world"}');
    expect(event).toMatchObject({ type: "unknown", name: null, ts: null, email: null, messageId: null });
    expect(batch.problems).toEqual([{ index: 0, path: "event", message: expect.any(String) }]);
  });

  it.each([
    ["a number", "42"],
    ["a string", '"send"'],
    ["null", "null"],
    ["an array", '[{"event":"send"}]'],
    ["a boolean", "true"],
  ])("keeps %s in the batch as an unknown event with a problem", (_label, item) => {
    const batch = parsed(`[${MESSAGE_EVENT_SAMPLES.send}, ${INBOUND_EVENT_SAMPLE}, ${item}]`);
    expect(batch.events).toHaveLength(3);
    expect(batch.events[2]).toMatchObject({ category: "unknown", type: "unknown", index: 2, rawJson: item });
    expect(batch.events[2]?.payload).toEqual(JSON.parse(item));
    expect(batch.problems).toEqual([{ index: 2, path: "", message: expect.any(String) }]);
  });

  it("reads a message event without msg as a message event, with a problem", () => {
    const { event, batch } = only('{"event":"hard_bounce","_id":"m1","ts":1428129133}');
    expect(event).toMatchObject({
      category: "message",
      type: "hard_bounce",
      messageId: "m1",
      ts: 1428129133,
      email: null,
    });
    expect(batch.problems).toEqual([{ index: 0, path: "msg", message: expect.any(String) }]);
  });

  it("reads a message event whose msg is not an object as a message event, with a problem", () => {
    const { event, batch } = only('{"event":"spam","_id":"m1","ts":1,"msg":"oops"}');
    expect(event).toMatchObject({ category: "message", type: "spam", email: null });
    expect(batch.problems).toEqual([{ index: 0, path: "msg", message: expect.any(String) }]);
  });

  it("reports a missing or invalid recipient at msg.email", () => {
    const batch = parsed(
      '[{"event":"send","_id":"a","ts":1,"msg":{}},{"event":"send","_id":"b","ts":1,"msg":{"email":"Bob <bob@example.com>"}}]',
    );
    expect(batch.events.map((e) => e.email)).toEqual([null, null]);
    expect(batch.problems).toEqual([
      { index: 0, path: "msg.email", message: expect.any(String) },
      { index: 1, path: "msg.email", message: expect.any(String) },
    ]);
  });

  it("reports a missing or non-numeric ts at ts, and a missing _id at _id", () => {
    const batch = parsed(
      '[{"event":"open","msg":{"email":"a@example.com"}},{"event":"open","_id":"x","ts":"1","msg":{"email":"a@example.com"}}]',
    );
    expect(batch.events.map((e) => [e.category, e.ts])).toEqual([
      ["message", null],
      ["message", null],
    ]);
    expect(batch.problems).toEqual([
      { index: 0, path: "ts", message: expect.any(String) },
      { index: 0, path: "_id", message: expect.any(String) },
      { index: 1, path: "ts", message: expect.any(String) },
    ]);
  });

  it("reports an unknown sync action and keeps the event", () => {
    const batch = parsed(
      `[${SYNC_EVENT_SAMPLES.blacklist_add.replace('"action":"add"', '"action":"purge"')},${SYNC_EVENT_SAMPLES.whitelist_add.replace('"action":"add"', '"action":"change"')}]`,
    );
    expect(batch.events.map((e) => [e.type, "action" in e ? e.action : undefined])).toEqual([
      ["blacklist", null],
      ["whitelist", null],
    ]);
    expect(batch.problems).toEqual([
      { index: 0, path: "action", message: expect.any(String) },
      { index: 1, path: "action", message: expect.any(String) },
    ]);
  });

  it("reports a sync event without its entry", () => {
    const batch = parsed(
      '[{"type":"blacklist","action":"add","ts":1},{"type":"whitelist","action":"add","ts":1}]',
    );
    expect(batch.events.map((e) => [e.type, e.email])).toEqual([
      ["blacklist", null],
      ["whitelist", null],
    ]);
    expect(batch.problems).toEqual([
      { index: 0, path: "reject", message: expect.any(String) },
      { index: 1, path: "entry", message: expect.any(String) },
    ]);
  });

  it("reports an inbound event without msg", () => {
    const { event, batch } = only('{"event":"inbound","ts":1}');
    expect(event).toMatchObject({ category: "inbound", email: null });
    expect(batch.problems).toEqual([{ index: 0, path: "msg", message: expect.any(String) }]);
  });

  it("gives the index of the event in every problem", () => {
    const batch = parsed(
      `[${MESSAGE_EVENT_SAMPLES.open}, 1, ${MESSAGE_EVENT_SAMPLES.click}, {"event":"nope"}]`,
    );
    expect(batch.problems.map((p) => p.index)).toEqual([1, 3]);
  });
});

describe("parseMandrillEvents: large batches", () => {
  it("reads a batch of 1,000 events", () => {
    const items = Array.from({ length: 1000 }, (_, i) =>
      MESSAGE_EVENT_SAMPLES.open.replace('"_id":"exampleaaaaaaaaaaaaaaaaaaaaaaaaa4"', `"_id":"message-${i}"`),
    );
    const batch = parsed(`[${items.join(",")}]`);
    expect(batch.problems).toEqual([]);
    expect(batch.events).toHaveLength(1000);
    expect(batch.events.map((e) => e.messageId)).toEqual(items.map((_, i) => `message-${i}`));
    expect(batch.events.every((e, i) => e.rawJson === items[i])).toBe(true);
  });
});

describe("parseStoredEvent", () => {
  /** What the dispatcher read a stored event as before: the one-event batch of its text. */
  const asBatchOfOne = (raw: string) => {
    const outcome = parseMandrillEvents(`[${raw}]`);
    return outcome.ok ? outcome.events[0] : undefined;
  };

  it("reads every stored text as the one-event batch of that text does", () => {
    const others = [
      { event: "open", ts: "yesterday" },
      { event: "hard_bounce", msg: { email: "Zoë@Exämple.com", subject: "\u0000 \ud83d\ude00 \\/" } },
      42,
      "text",
      null,
      [1, [2]],
    ].map((v) => JSON.stringify(v));
    // The samples as Mandrill wrote them (white space, escaped slashes), and odd items.
    const texts = [
      ...Object.values(MESSAGE_EVENT_SAMPLES),
      ...Object.values(SYNC_EVENT_SAMPLES),
      INBOUND_EVENT_SAMPLE,
      ...others,
    ];
    const batch = parseMandrillEvents(`[${texts.join(",")}]`);
    if (!batch.ok) throw new Error("the samples must parse");
    expect(batch.events.length).toBeGreaterThan(10);
    for (const event of batch.events) {
      expect(parseStoredEvent(event.rawJson), event.rawJson).toEqual(asBatchOfOne(event.rawJson));
      expect(parseStoredEvent(event.rawJson)?.rawJson).toBe(event.rawJson);
    }
  });

  it("agrees with the one-event batch on any JSON value, and reads anything else as no event", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          fc.string(),
          fc.json().map((j) => ` \n${j}\t\r`),
        ),
        (raw) => {
          if (jsonParse(raw) === undefined) expect(parseStoredEvent(raw)).toBeUndefined();
          else expect(parseStoredEvent(raw)).toEqual(asBatchOfOne(raw));
        },
      ),
    );
  });
});
