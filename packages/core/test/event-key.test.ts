import { type MandrillEvent, MESSAGE_EVENT_TYPES } from "@mandrill-kit/core";
import { eventKey, parseMandrillEvents } from "@mandrill-kit/core/plugin";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  INBOUND_EVENT_SAMPLE,
  MESSAGE_EVENT_SAMPLES,
  SPEC_EVENTS_JSON,
  SYNC_EVENT_SAMPLES,
} from "./fixtures/spec-events.js";

const RUNS = { numRuns: 200 };

function events(text: string): MandrillEvent[] {
  const outcome = parseMandrillEvents(text);
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.events;
}

function keyOf(item: unknown): string {
  return eventKey(events(`[${typeof item === "string" ? item : JSON.stringify(item)}]`)[0] as MandrillEvent);
}

/** Re-serialises a JSON value with every object's keys in the order `order` picks and `/` escaped as `\/`. */
function reorderedJson(value: unknown, order: (keys: string[]) => string[], escapeSlashes: boolean): string {
  if (Array.isArray(value)) return `[${value.map((v) => reorderedJson(v, order, escapeSlashes)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const members = order(Object.keys(record)).map(
      (k) => `${JSON.stringify(k)}:${reorderedJson(record[k], order, escapeSlashes)}`,
    );
    return `{${members.join(",")}}`;
  }
  const text = JSON.stringify(value);
  return escapeSlashes ? text.replaceAll("/", "\\/") : text;
}

/** A key order picked from a random seed (a deterministic shuffle). */
function shuffler(seed: number): (keys: string[]) => string[] {
  let state = seed >>> 0 || 1;
  return (keys) => {
    const out = [...keys];
    for (let i = out.length - 1; i > 0; i--) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const j = state % (i + 1);
      [out[i], out[j]] = [out[j] as string, out[i] as string];
    }
    return out;
  };
}

const ALL_SAMPLES = [
  ...Object.entries(MESSAGE_EVENT_SAMPLES),
  ...Object.entries(SYNC_EVENT_SAMPLES),
  ["inbound", INBOUND_EVENT_SAMPLE],
] as const;

const messageEvent = fc.record({
  event: fc.constantFrom(...MESSAGE_EVENT_TYPES),
  _id: fc.oneof(
    fc.stringMatching(/^[a-f0-9]{32}$/),
    fc.string({ unit: "binary", minLength: 1, maxLength: 80 }),
  ),
  ts: fc.integer({ min: 1_300_000_000, max: 2_000_000_000 }),
  url: fc.webUrl(),
  msg: fc.record({
    email: fc.emailAddress(),
    state: fc.constantFrom("sent", "bounced"),
    metadata: fc.dictionary(fc.string(), fc.jsonValue()),
  }),
  extra: fc.jsonValue(),
});

describe("eventKey", () => {
  it.each(ALL_SAMPLES)(
    "gives the %s sample the same key whatever its key order and slash escaping",
    (_name, text) => {
      const value: unknown = JSON.parse(text);
      const original = keyOf(text);
      fc.assert(
        fc.property(fc.integer(), fc.boolean(), (seed, escapeSlashes) => {
          expect(keyOf(reorderedJson(value, shuffler(seed), escapeSlashes))).toBe(original);
        }),
        { numRuns: 50 },
      );
      expect(keyOf(reorderedJson(value, (keys) => [...keys].reverse(), true))).toBe(original);
    },
  );

  it("gives any message event the same key whatever its key order and slash escaping", () => {
    fc.assert(
      fc.property(messageEvent, fc.integer(), fc.boolean(), (event, seed, escapeSlashes) => {
        expect(keyOf(reorderedJson(event, shuffler(seed), escapeSlashes))).toBe(keyOf(event));
      }),
      RUNS,
    );
  });

  it("gives an event without _id the same key whatever its key order", () => {
    const event = { event: "send", ts: 1, msg: { email: "a@example.com", metadata: { b: 1, a: "x/y" } } };
    expect(keyOf(reorderedJson(event, (keys) => [...keys].reverse(), true))).toBe(keyOf(event));
  });

  it("gives redelivered events the keys they had the first time", () => {
    const first = events(SPEC_EVENTS_JSON).map(eventKey);
    const again = events(SPEC_EVENTS_JSON).map(eventKey);
    expect(again).toEqual(first);
  });

  it("gives every sample of docs/mandrill.md#webhooks a different key", () => {
    const keys = events(SPEC_EVENTS_JSON).map(eventKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("gives different keys to message events that differ in _id, ts, type or clicked URL", () => {
    fc.assert(
      fc.property(
        messageEvent,
        messageEvent,
        fc.constantFrom("_id", "ts", "event", "url"),
        (base, other, field) => {
          fc.pre(base[field] !== other[field]);
          // Only clicks carry a URL that tells two events apart.
          const original = field === "url" ? { ...base, event: "click" } : base;
          const changed = { ...original, [field]: other[field] };
          expect(keyOf(changed)).not.toBe(keyOf(original));
        },
      ),
      RUNS,
    );
  });

  it("gives two clicks of one message in the same second on different links different keys", () => {
    const click = JSON.parse(MESSAGE_EVENT_SAMPLES.click) as Record<string, unknown>;
    expect(keyOf({ ...click, url: "https://example.com/a" })).not.toBe(
      keyOf({ ...click, url: "https://example.com/b" }),
    );
  });

  it("gives an open and a click of the same message at the same time different keys", () => {
    const open = JSON.parse(MESSAGE_EVENT_SAMPLES.open) as Record<string, unknown>;
    expect(keyOf({ ...open, event: "click", url: "http://mandrill.com" })).not.toBe(keyOf(open));
  });

  it("gives sync events that differ in action, time or address different keys", () => {
    const add = JSON.parse(SYNC_EVENT_SAMPLES.blacklist_add) as { reject: Record<string, unknown> };
    const keys = [
      keyOf(add),
      keyOf({ ...add, action: "remove" }),
      keyOf({ ...add, action: "change" }),
      keyOf({ ...add, ts: 1438785793 }),
      keyOf({ ...add, reject: { ...add.reject, email: "carol@example.net" } }),
      keyOf({ ...add, type: "whitelist", entry: add.reject }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("gives inbound events with different content different keys", () => {
    const inbound = JSON.parse(INBOUND_EVENT_SAMPLE) as { msg: Record<string, unknown> };
    expect(keyOf({ ...inbound, msg: { ...inbound.msg, subject: "Help again" } })).not.toBe(keyOf(inbound));
  });

  it("never puts the address of a sync event in its key", () => {
    const address = fc.emailAddress().filter((email) => email.length <= 254);
    fc.assert(
      fc.property(
        address,
        fc.constantFrom("blacklist", "whitelist"),
        fc.constantFrom("add", "remove"),
        (email, type, action) => {
          const body =
            type === "blacklist" ? { reject: { reason: "hard-bounce", email } } : { entry: { email } };
          const key = keyOf({ type, action, ts: 1438785792, ...body });
          expect(key).not.toContain(email.toLowerCase());
          expect(key).not.toContain(email);
          expect(key).not.toContain("@");
        },
      ),
      RUNS,
    );
  });

  it("makes short ASCII keys even from long or unusual ids", () => {
    fc.assert(
      fc.property(messageEvent, (event) => {
        const key = keyOf(event);
        expect(key).toMatch(/^[\x21-\x7e]+$/);
        expect(key.length).toBeLessThanOrEqual(200);
      }),
      RUNS,
    );
  });

  it("gives unknown items a stable key based on their content", () => {
    expect(keyOf('{"event":"sms_sent","b":1,"a":2}')).toBe(keyOf('{"a":2,"b":1,"event":"sms_sent"}'));
    expect(keyOf('{"event":"sms_sent","a":1}')).not.toBe(keyOf('{"event":"sms_sent","a":2}'));
    expect(keyOf("42")).not.toBe(keyOf("43"));
  });

  it("sorts keys of later events after earlier ones, so a store's unique index grows at its end", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.constantFrom(...MESSAGE_EVENT_TYPES),
        fc.constantFrom(...MESSAGE_EVENT_TYPES),
        (ts, later, typeA, typeB) => {
          const a = keyOf({
            event: typeA,
            _id: "ffffffffffffffffffffffffffffffff",
            ts,
            msg: { email: "a@example.com" },
          });
          const b = keyOf({
            event: typeB,
            _id: "00000000000000000000000000000000",
            ts: ts + later,
            msg: { email: "b@example.com" },
          });
          expect(a < b).toBe(true);
        },
      ),
      RUNS,
    );
  });
});
