import { normalizeInboxEvent } from "@mandrill-kit/core/adapter";
import { Utf8InboxEvent } from "@mandrill-kit/core/plugin";
import { describe, expect, it } from "vitest";

const TEXT = '{"event":"send","msg":{"subject":"Zoë — 📦"}}';
const fields = {
  key: "1700000000:send:m1",
  type: "send",
  email: "zoe@example.com",
  messageId: "m1",
  eventAt: 1_700_000_000_000,
  effects: [],
  state: "done" as const,
};

describe("Utf8InboxEvent", () => {
  it("decodes raw from its bytes on first read, then keeps it as its own property", () => {
    const bytes = Buffer.from(`[${TEXT}]`).subarray(1, -1);
    const event = new Utf8InboxEvent(fields, bytes);
    expect(Object.hasOwn(event, "raw")).toBe(false);
    expect(event.raw).toBe(TEXT);
    expect(Object.hasOwn(event, "raw")).toBe(true);
    expect(JSON.parse(JSON.stringify(event))).toEqual({ ...fields, raw: TEXT });
  });
});

describe("normalizeInboxEvent with rawUtf8", () => {
  it("uses a Utf8InboxEvent with nothing to change as it is, without decoding its text", () => {
    const event = new Utf8InboxEvent(fields, Buffer.from(TEXT));
    expect(normalizeInboxEvent(event)).toBe(event);
    expect(Object.hasOwn(event, "raw")).toBe(false);
  });

  it("builds a new event when something changes (address, effects) and keeps the bytes", () => {
    const bytes = Buffer.from(TEXT);
    const event = new Utf8InboxEvent({ ...fields, email: "Zoe@Example.COM" }, bytes);
    const normalized = normalizeInboxEvent(event);
    expect(normalized).not.toBe(event);
    expect(normalized).toMatchObject({ email: "zoe@example.com", rawUtf8: bytes, state: "done" });
    const plain = normalizeInboxEvent({ ...fields, raw: TEXT, rawUtf8: bytes });
    expect(plain).toBeInstanceOf(Utf8InboxEvent);
    expect(plain.raw).toBe(TEXT);
  });

  it("refuses bytes that are not UTF-8", () => {
    const bad = new Utf8InboxEvent(fields, new Uint8Array([0x7b, 0xff, 0x7d]));
    expect(() => normalizeInboxEvent(bad)).toThrow(/rawUtf8/);
  });
});
