import { createHash, createHmac } from "node:crypto";
import { mandrillSignature } from "@mandrill-kit/core/plugin";
import { encodeForm, signWebhook, TEST_WEBHOOK_KEY } from "@mandrill-kit/webhooks/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeFormBody } from "../src/form-body.js";
import { matchSignature, verifyRequest } from "../src/verify-request.js";
import { CAPTURED_CLICK } from "./fixtures/captured.js";

/**
 * Independent implementation of docs/mandrill.md#signature-reference-implementation (the Python
 * reference transcribed), to check ours against.
 */
function reference(key: string, url: string, form: Record<string, string>): string {
  const signed =
    url +
    Object.keys(form)
      .sort()
      .map((k) => k + form[k])
      .join("");
  return createHmac("sha1", Buffer.from(key, "utf8")).update(Buffer.from(signed, "utf8")).digest("base64");
}

const EDGE_VALUE = '[{"event":"click","url":"https:\\/\\/example.com\\/a?b=1","msg":{"subject":"Café ✓"}}]';

describe("mandrillSignature — the published vectors (docs/mandrill.md#signature-test-vectors)", () => {
  it("verifies a real captured Mandrill POST (vector 1), read from its raw form body", () => {
    const form = decodeFormBody(CAPTURED_CLICK.body);
    expect(
      createHash("sha256")
        .update(form.mandrill_events ?? "", "utf8")
        .digest("hex"),
    ).toBe(CAPTURED_CLICK.sha256);
    expect(mandrillSignature(CAPTURED_CLICK.key, CAPTURED_CLICK.url, form)).toBe(CAPTURED_CLICK.signature);
    expect(
      matchSignature(
        ["some-other-key", CAPTURED_CLICK.key],
        CAPTURED_CLICK.url,
        form,
        CAPTURED_CLICK.signature,
      ),
    ).toBe(1);
  });

  it("fails on the captured POST once its JSON is re-serialised (slashes unescaped)", () => {
    const form = decodeFormBody(CAPTURED_CLICK.body);
    const reserialised = { mandrill_events: JSON.stringify(JSON.parse(form.mandrill_events ?? "[]")) };
    expect(mandrillSignature(CAPTURED_CLICK.key, CAPTURED_CLICK.url, reserialised)).not.toBe(
      CAPTURED_CLICK.signature,
    );
  });

  it("reproduces Mandrill's validation POST signature: [] with test-webhook (vector 12)", () => {
    expect(mandrillSignature(TEST_WEBHOOK_KEY, "http://localhost/", { mandrill_events: "[]" })).toBe(
      "QANhYzyeonX51wyzKImgnLZ27CE=",
    );
  });

  it("reproduces the Symfony send.json vector (vector 9)", () => {
    const value =
      '[{"ts":1365109999,"event":"send","msg":{"ts":1365109999,"subject":"Foo bar","email":"foo@example.com","sender":"bar@example.com","tags":["my_tag_1","my_tag_2"],"smtp_events":null,"opens":null,"clicks":null,"state":"sent","metadata":{"mandrill-var-1":"foo","mandrill-var-2":"bar"},"_id":"7761636","_version":"123","subaccount":null,"diag":null,"bounce_description":null,"template":null}}]';
    expect(value.length).toBe(387);
    expect(
      mandrillSignature("key-0p6mqbf74lb20gzq9f4dhpn9rg3zyk26", "http://localhost/", {
        mandrill_events: value,
      }),
    ).toBe("XecBI/LQPX3del+xEppj7AcoIVY=");
  });

  it("reproduces the derived anymail and Djrill vectors (basic-auth URL, relative URL with query)", () => {
    expect(
      mandrillSignature("TEST_WEBHOOK_KEY", "http://username:password@testserver/anymail/mandrill/", {
        mandrill_events: '[{"event": "send"}]',
      }),
    ).toBe("QUXzqdBD/L/blycKYMxJ4PJv7ek=");
    expect(mandrillSignature("signature", "/webhook/?secret=abc123", { mandrill_events: "[]" })).toBe(
      "FXD+HtxBSPxtSQ1sL3H8NxOfVW8=",
    );
  });

  it.each([
    ["https://hooks.example.com/mandrill", "HYXsOqNK1nzBmaGuzNww+waOlh4="],
    ["https://hooks.example.com/mandrill/", "AuQMajXJohrg0JugPPCRhKWRU9Q="],
    ["http://hooks.example.com/mandrill", "cO9OCP7RGrHo2rEA0IexQXX5WDI="],
    ["https://hooks.example.com/mandrill?token=abc", "+xPNynmZLgIaquVh7CjLWip3jc8="],
  ])("signs the non-ASCII edge value for %s (self-computed vectors)", (url, expected) => {
    expect(mandrillSignature("sim-webhook-key-123", url, { mandrill_events: EDGE_VALUE })).toBe(expected);
  });

  it("sorts fields by name before signing (two-field vector)", () => {
    expect(
      mandrillSignature("sim-webhook-key-123", "https://hooks.example.com/mandrill", {
        mandrill_events: "[]",
        a_extra: "1",
      }),
    ).toBe("xGU8+ObkGpZ4GDoy2mHkucfb4DM=");
  });
});

describe("mandrillSignature — properties", () => {
  const key = fc.string({ minLength: 1, maxLength: 40 });
  const url = fc.webUrl({ withQueryParameters: true });
  const value = fc.string({ unit: "grapheme", maxLength: 300 });

  it("agrees with an independent implementation of the reference algorithm for any key, URL and fields", () => {
    // docs/mandrill.md#signature-reference-implementation
    fc.assert(
      fc.property(
        key,
        url,
        fc.dictionary(fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 12 }), value, {
          maxKeys: 4,
        }),
        (k, u, form) => {
          expect(mandrillSignature(k, u, form)).toBe(reference(k, u, form));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("breaks when the URL, the key, a field name or a field value changes", () => {
    fc.assert(
      fc.property(key, url, value, fc.string({ minLength: 1, maxLength: 5 }), (k, u, v, extra) => {
        const sig = mandrillSignature(k, u, { mandrill_events: v });
        expect(matchSignature([k], `${u}${extra}`, { mandrill_events: v }, sig)).toBe(-1);
        expect(matchSignature([`${k}${extra}`], u, { mandrill_events: v }, sig)).toBe(-1);
        expect(matchSignature([k], u, { mandrill_event: v }, sig)).toBe(-1);
        expect(matchSignature([k], u, { mandrill_events: `${v}${extra}` }, sig)).toBe(-1);
      }),
      { numRuns: 300 },
    );
  });

  it("does not depend on the order fields arrive in", () => {
    fc.assert(
      fc.property(
        key,
        url,
        fc.dictionary(fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 8 }), value, {
          minKeys: 2,
          maxKeys: 5,
        }),
        (k, u, form) => {
          const reversed = Object.fromEntries(Object.entries(form).reverse());
          expect(mandrillSignature(k, u, reversed)).toBe(mandrillSignature(k, u, form));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("survives form encoding and decoding exactly as Mandrill sends it", () => {
    fc.assert(
      fc.property(
        key,
        url,
        fc.array(fc.record({ event: fc.constantFrom("send", "click"), url: fc.webUrl(), note: value }), {
          maxLength: 5,
        }),
        (k, u, events) => {
          const signed = signWebhook({ key: k, url: u, events });
          const form = decodeFormBody(signed.body);
          expect(form.mandrill_events).toBe(signed.mandrillEvents);
          expect(matchSignature(["other", k], u, form, signed.signature)).toBe(1);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("verifyRequest on a raw body — HMAC over the decoded bytes", () => {
  it("accepts exactly the reference signature of any form, whatever its field order, and keeps the text", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }).filter((k) => k.trim() !== ""),
        fc.dictionary(
          fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 }),
          fc.string({ unit: "grapheme", maxLength: 200 }),
          { maxKeys: 4 },
        ),
        fc.string({ unit: "grapheme", maxLength: 300 }),
        (key, extra, events) => {
          const url = "https://example.com/webhooks/mandrill/acme";
          const form = { ...extra, mandrill_events: events };
          const body = encodeForm(Object.fromEntries(Object.entries(form).reverse()));
          const verify = (signature: string) =>
            verifyRequest({
              method: "POST",
              headers: {
                "content-type": "application/x-www-form-urlencoded",
                "x-mandrill-signature": signature,
              },
              body: Buffer.from(body),
              account: "acme",
              callbackUrl: url,
              keys: [key],
            });
          const ok = verify(reference(key, url, form));
          if (!ok.ok || ok.kind !== "batch") throw new Error(`refused: ${JSON.stringify(ok)}`);
          expect(ok.mandrillEvents).toBe(events);
          expect(Buffer.from(ok.mandrillEventsBytes ?? []).toString("utf8")).toBe(events);
          expect({ ...ok.form }).toEqual(form);
          expect(verify(reference(`${key}x`, url, form)).ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("matchSignature", () => {
  const form = { mandrill_events: "[]" };
  it("never matches a missing, empty or oversized header", () => {
    expect(matchSignature(["k"], "https://x/", form, undefined)).toBe(-1);
    expect(matchSignature(["k"], "https://x/", form, "")).toBe(-1);
    expect(matchSignature(["k"], "https://x/", form, "A".repeat(500))).toBe(-1);
  });

  it("finds the key that signed, among several (rotation)", () => {
    const sig = mandrillSignature("old", "https://x/", form);
    expect(matchSignature(["new", "old"], "https://x/", form, sig)).toBe(1);
    expect(matchSignature(["new"], "https://x/", form, sig)).toBe(-1);
    expect(matchSignature([], "https://x/", form, sig)).toBe(-1);
  });
});

describe("encodeForm", () => {
  it("encodes like Python's quote_plus(safe='') — the captured body round-trips byte for byte", () => {
    const form = decodeFormBody(CAPTURED_CLICK.body);
    expect(encodeForm(form)).toBe(CAPTURED_CLICK.body);
  });
});
