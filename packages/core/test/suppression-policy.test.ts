import {
  DEFAULT_SUPPRESSION_POLICY,
  type MandrillEvent,
  RECIPIENT_SIDE_REJECT_REASONS,
  REJECT_REASONS,
  rejectReasonSide,
  resolveSuppressionPolicy,
  SENDER_SIDE_REJECT_REASONS,
  type SuppressionPolicy,
} from "@mandrill-kit/core";
import {
  parseMandrillEvents,
  parseMandrillTime,
  rejectSuppression,
  suppressionEffects,
} from "@mandrill-kit/core/plugin";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { INBOUND_EVENT_SAMPLE, MESSAGE_EVENT_SAMPLES, SYNC_EVENT_SAMPLES } from "./fixtures/spec-events.js";
import { configError } from "./helpers.js";

const DAY = 24 * 60 * 60 * 1000;
const SAMPLE_TS = 1428129133;
const SAMPLE_AT = SAMPLE_TS * 1000;
const RECEIVED_AT = 1_700_000_000_000;
const RECIPIENT = "example.webhook@mandrillapp.com";

function event(item: string | object): MandrillEvent {
  const outcome = parseMandrillEvents(`[${typeof item === "string" ? item : JSON.stringify(item)}]`);
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.events[0] as MandrillEvent;
}

function effects(item: string | object, policy: SuppressionPolicy = DEFAULT_SUPPRESSION_POLICY) {
  return suppressionEffects(event(item), policy, RECEIVED_AT);
}

function sample(
  name: keyof typeof MESSAGE_EVENT_SAMPLES,
): Record<string, unknown> & { msg: Record<string, unknown> } {
  return JSON.parse(MESSAGE_EVENT_SAMPLES[name]);
}

/** A blacklist sync event as Mandrill sends it (docs/mandrill.md#sync-events), with the given entry fields. */
function blacklist(action: string, reject: Record<string, unknown>, ts = 1438785792) {
  return {
    type: "blacklist",
    action,
    ts,
    reject: {
      reason: "hard-bounce",
      detail: "550 5.1.1 mailbox does not exist",
      last_event_at: "2015-08-05 14:43:12",
      email: "Bob@Example.net",
      created_at: "2015-08-05 14:43:12",
      expires_at: "2015-09-04 14:43:12",
      expired: false,
      subaccount: null,
      sender: null,
      ...reject,
    },
  };
}

describe("suppressionEffects with the default policy", () => {
  it("suppresses a hard-bounced address with no expiry, keeping the bounce diagnostic", () => {
    expect(effects(MESSAGE_EVENT_SAMPLES.hard_bounce)).toEqual([
      {
        op: "suppress",
        email: RECIPIENT,
        reason: "hard-bounce",
        source: "webhook",
        detail: expect.stringContaining("550 5.1.1"),
        expiresAt: null,
      },
    ]);
  });

  it("counts a soft bounce: suppress after 3 within 7 days, for 7 days", () => {
    expect(effects(MESSAGE_EVENT_SAMPLES.soft_bounce)).toEqual([
      {
        op: "soft-bounce",
        email: RECIPIENT,
        detail: expect.stringContaining("Over Quota"),
        threshold: 3,
        windowMs: 7 * DAY,
        suppressForMs: 7 * DAY,
      },
    ]);
  });

  it("suppresses an address that marked a message as spam, with no expiry", () => {
    expect(effects(MESSAGE_EVENT_SAMPLES.spam)).toEqual([
      {
        op: "suppress",
        email: RECIPIENT,
        reason: "spam",
        source: "webhook",
        detail: expect.any(String),
        expiresAt: null,
      },
    ]);
  });

  it("suppresses an address that unsubscribed, with no expiry", () => {
    expect(effects(MESSAGE_EVENT_SAMPLES.unsub)).toEqual([
      {
        op: "suppress",
        email: RECIPIENT,
        reason: "unsub",
        source: "webhook",
        detail: expect.any(String),
        expiresAt: null,
      },
    ]);
  });

  it.each(RECIPIENT_SIDE_REJECT_REASONS)(
    "suppresses on a reject event with the recipient-side reason %s",
    (reason) => {
      const reject = sample("reject");
      reject.msg.reject = { reason, detail: "listed", email: RECIPIENT };
      const [effect, ...rest] = effects(reject);
      expect(rest).toEqual([]);
      expect(effect).toMatchObject({
        op: "suppress",
        email: RECIPIENT,
        reason,
        source: "webhook",
        detail: "listed",
      });
    },
  );

  it("suppresses a hard-bounce reject forever and a soft-bounce reject for 7 days", () => {
    const hard = sample("reject");
    hard.msg.reject = { reason: "hard-bounce" };
    const soft = sample("reject");
    soft.msg.reject = { reason: "soft-bounce" };
    expect(effects(hard)).toMatchObject([{ reason: "hard-bounce", expiresAt: null }]);
    expect(effects(soft)).toMatchObject([{ reason: "soft-bounce", expiresAt: SAMPLE_AT + 7 * DAY }]);
  });

  it("suppresses forever on a reject event for custom (the account's own manual denylist)", () => {
    const reject = sample("reject");
    reject.msg.reject = { reason: "custom", detail: "added by hand" };
    expect(effects(reject)).toEqual([
      {
        op: "suppress",
        email: RECIPIENT,
        reason: "custom",
        source: "webhook",
        detail: "added by hand",
        expiresAt: null,
      },
    ]);
  });

  it.each(["unsigned", "invalid-sender", "test-mode-limit", "rule", "recipient-domain-mismatch"])(
    "lists %s as a sender-side reason",
    (reason) => {
      expect(SENDER_SIDE_REJECT_REASONS as readonly string[]).toContain(reason);
      expect(RECIPIENT_SIDE_REJECT_REASONS as readonly string[]).not.toContain(reason);
    },
  );

  it.each(SENDER_SIDE_REJECT_REASONS)(
    "never suppresses the recipient on a reject with the sender-side reason %s",
    (reason) => {
      const reject = sample("reject");
      reject.msg.reject = { reason, detail: "sender problem" };
      expect(effects(reject)).toEqual([]);
    },
  );

  it("never suppresses on a reject whose reason is missing or unknown", () => {
    expect(effects(MESSAGE_EVENT_SAMPLES.reject)).toEqual([]);
    const reject = sample("reject");
    reject.msg.reject = { reason: "brand-new-reason" };
    expect(effects(reject)).toEqual([]);
  });

  it("mirrors a denylist add as a sync suppression expiring when Mandrill's entry expires (UTC)", () => {
    expect(effects(blacklist("add", {}))).toEqual([
      {
        op: "suppress",
        email: "bob@example.net",
        reason: "hard-bounce",
        source: "sync",
        detail: "550 5.1.1 mailbox does not exist",
        expiresAt: Date.UTC(2015, 8, 4, 14, 43, 12),
      },
    ]);
  });

  it("mirrors a denylist change like an add", () => {
    expect(effects(blacklist("change", { reason: "spam", expires_at: "2016-01-01 00:00:00" }))).toMatchObject(
      [{ op: "suppress", reason: "spam", source: "sync", expiresAt: Date.UTC(2016, 0, 1) }],
    );
  });

  it.each(["hard-bounce", "soft-bounce", "spam", "unsub", "custom"])(
    "keeps the denylist reason %s",
    (reason) => {
      expect(effects(blacklist("add", { reason }))).toMatchObject([{ reason }]);
    },
  );

  it("mirrors a denylist entry with an unknown reason as custom", () => {
    expect(effects(blacklist("add", { reason: "whatever" }))).toMatchObject([
      { op: "suppress", reason: "custom" },
    ]);
  });

  it("mirrors a denylist entry without an expiry as a suppression with no expiry", () => {
    expect(effects(blacklist("add", { expires_at: null }))).toMatchObject([
      { op: "suppress", expiresAt: null },
    ]);
  });

  it("does not suppress for a denylist entry Mandrill marks as expired", () => {
    expect(effects(blacklist("add", { expired: true }))).toEqual([]);
  });

  it("does not suppress for a denylist entry that had expired before the event was sent", () => {
    expect(effects(blacklist("add", { expires_at: "2015-08-05 14:43:11" }))).toEqual([]);
  });

  it("lifts only sync suppressions when an address is removed from the denylist", () => {
    expect(effects(SYNC_EVENT_SAMPLES.blacklist_remove)).toEqual([
      {
        op: "lift",
        email: "bob@example.net",
        by: "mandrill-sync",
        reason: expect.any(String),
        sources: ["sync"],
      },
    ]);
  });

  it("lifts any suppression when an address is added to the allowlist", () => {
    const [effect, ...rest] = effects(SYNC_EVENT_SAMPLES.whitelist_add);
    expect(rest).toEqual([]);
    expect(effect).toEqual({
      op: "lift",
      email: "ops@example.com",
      by: "mandrill-sync",
      reason: expect.any(String),
    });
  });

  it("does nothing when an address is removed from the allowlist", () => {
    expect(effects(SYNC_EVENT_SAMPLES.whitelist_remove)).toEqual([]);
  });

  it.each(["send", "delivered", "deferral", "open", "click"] as const)(
    "does nothing for a %s event",
    (name) => {
      expect(effects(MESSAGE_EVENT_SAMPLES[name])).toEqual([]);
    },
  );

  it("does nothing for inbound and unknown events", () => {
    expect(effects(INBOUND_EVENT_SAMPLE)).toEqual([]);
    expect(effects({ event: "sms_bounce", ts: 1, msg: { email: "a@example.com" } })).toEqual([]);
  });

  it("does nothing for an event without a valid address", () => {
    const bounce = sample("hard_bounce");
    bounce.msg.email = "not an address";
    expect(effects(bounce)).toEqual([]);
    const noMsg = sample("spam");
    delete (noMsg as Record<string, unknown>).msg;
    expect(effects(noMsg)).toEqual([]);
  });

  it("applies the suppression to the normalised address", () => {
    const bounce = sample("hard_bounce");
    bounce.msg.email = " Example.Webhook@MandrillApp.COM ";
    expect(effects(bounce)).toMatchObject([{ email: RECIPIENT }]);
  });
});

describe("suppressionEffects with a custom policy", () => {
  it("counts expiries from the event time", () => {
    const policy = resolveSuppressionPolicy({
      hardBounceForMs: 30 * DAY,
      spamForMs: DAY,
      unsubForMs: 2 * DAY,
    });
    expect(effects(MESSAGE_EVENT_SAMPLES.hard_bounce, policy)).toMatchObject([
      { expiresAt: SAMPLE_AT + 30 * DAY },
    ]);
    expect(effects(MESSAGE_EVENT_SAMPLES.spam, policy)).toMatchObject([{ expiresAt: SAMPLE_AT + DAY }]);
    expect(effects(MESSAGE_EVENT_SAMPLES.unsub, policy)).toMatchObject([{ expiresAt: SAMPLE_AT + 2 * DAY }]);
  });

  it("counts expiries from the receive time when the event has no usable ts", () => {
    const policy = resolveSuppressionPolicy({ hardBounceForMs: DAY });
    const bounce = sample("hard_bounce");
    delete bounce.ts;
    expect(effects(bounce, policy)).toMatchObject([{ expiresAt: RECEIVED_AT + DAY }]);
  });

  it("uses the configured soft-bounce counting", () => {
    const policy = resolveSuppressionPolicy({
      softBounce: { threshold: 5, windowMs: 2 * DAY, suppressForMs: 3 * DAY },
    });
    expect(effects(MESSAGE_EVENT_SAMPLES.soft_bounce, policy)).toMatchObject([
      { op: "soft-bounce", threshold: 5, windowMs: 2 * DAY, suppressForMs: 3 * DAY },
    ]);
  });

  it("ignores soft bounces and soft-bounce rejects when soft-bounce suppression is off", () => {
    const policy = resolveSuppressionPolicy({ softBounce: false });
    expect(effects(MESSAGE_EVENT_SAMPLES.soft_bounce, policy)).toEqual([]);
    const reject = sample("reject");
    reject.msg.reject = { reason: "soft-bounce" };
    expect(effects(reject, policy)).toEqual([]);
  });

  it("ignores Mandrill's denylist and allowlist when sync mirroring is off", () => {
    const policy = resolveSuppressionPolicy({ mirrorSync: false });
    for (const text of Object.values(SYNC_EVENT_SAMPLES)) expect(effects(text, policy)).toEqual([]);
    expect(effects(MESSAGE_EVENT_SAMPLES.hard_bounce, policy)).toHaveLength(1);
  });
});

describe("resolveSuppressionPolicy", () => {
  it("returns the defaults when given nothing", () => {
    expect(resolveSuppressionPolicy()).toEqual(DEFAULT_SUPPRESSION_POLICY);
    expect(resolveSuppressionPolicy({})).toEqual({
      hardBounceForMs: null,
      softBounce: { threshold: 3, windowMs: 7 * DAY, suppressForMs: 7 * DAY },
      spamForMs: null,
      unsubForMs: null,
      invalidForMs: null,
      mirrorSync: true,
    });
  });

  it("does not change the defaults", () => {
    resolveSuppressionPolicy({ hardBounceForMs: DAY, mirrorSync: false });
    expect(DEFAULT_SUPPRESSION_POLICY.hardBounceForMs).toBeNull();
    expect(DEFAULT_SUPPRESSION_POLICY.mirrorSync).toBe(true);
  });

  it.each([
    ["hardBounceForMs", { hardBounceForMs: -1 }, "suppression.hardBounceForMs", "-1"],
    ["hardBounceForMs", { hardBounceForMs: 0 }, "suppression.hardBounceForMs", "0"],
    ["spamForMs", { spamForMs: "7d" }, "suppression.spamForMs", '"7d"'],
    ["unsubForMs", { unsubForMs: -5 }, "suppression.unsubForMs", "-5"],
    ["invalidForMs", { invalidForMs: "forever" }, "suppression.invalidForMs", '"forever"'],
    [
      "softBounce.threshold",
      { softBounce: { threshold: 0, windowMs: DAY, suppressForMs: DAY } },
      "suppression.softBounce.threshold",
      "0",
    ],
    [
      "softBounce.threshold",
      { softBounce: { threshold: 2.5, windowMs: DAY, suppressForMs: DAY } },
      "suppression.softBounce.threshold",
      "2.5",
    ],
    [
      "softBounce.windowMs",
      { softBounce: { threshold: 3, windowMs: null, suppressForMs: DAY } },
      "suppression.softBounce.windowMs",
      "null",
    ],
    [
      "softBounce.suppressForMs",
      { softBounce: { threshold: 3, windowMs: DAY, suppressForMs: -DAY } },
      "suppression.softBounce.suppressForMs",
      `${-DAY}`,
    ],
  ])("rejects a bad %s, quoting the option and the value", (_label, overrides, option, shown) => {
    const error = configError(() => resolveSuppressionPolicy(overrides as Partial<SuppressionPolicy>));
    expect(error.code).toBe("ERR_MK_CONFIG_INVALID");
    expect(error.option).toBe(option);
    expect(error.message).toContain(option);
    expect(error.message).toContain(`received ${shown}`);
  });

  it.each([
    ["NaN", Number.NaN, "NaN"],
    ["Infinity", Number.POSITIVE_INFINITY, "Infinity"],
  ])("rejects %s as a duration and says so, not that it received null", (_label, value, shown) => {
    const error = configError(() => resolveSuppressionPolicy({ hardBounceForMs: value }));
    expect(error.option).toBe("suppression.hardBounceForMs");
    expect(error.message).toContain(shown);
    expect(error.message).not.toContain("received null");
  });

  it("rejects a mirrorSync that is not a boolean, quoting the option and the value", () => {
    const error = configError(() => resolveSuppressionPolicy({ mirrorSync: "yes" as unknown as boolean }));
    expect(error.code).toBe("ERR_MK_CONFIG_INVALID");
    expect(error.option).toBe("suppression.mirrorSync");
    expect(error.message).toContain("suppression.mirrorSync");
    expect(error.message).toContain('"yes"');
  });

  it("accepts null (forever) for the suppression lengths and false for soft bounces", () => {
    expect(
      resolveSuppressionPolicy({
        hardBounceForMs: null,
        spamForMs: null,
        unsubForMs: null,
        invalidForMs: null,
        softBounce: false,
      }),
    ).toMatchObject({ softBounce: false, hardBounceForMs: null });
  });

  it("accepts any positive duration", () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 1e13, noNaN: true }), (ms) => {
        expect(resolveSuppressionPolicy({ hardBounceForMs: ms }).hardBounceForMs).toBe(ms);
      }),
      { numRuns: 100 },
    );
  });
});

describe("rejectSuppression", () => {
  it.each([
    ["hard-bounce", null],
    ["soft-bounce", 7 * DAY],
    ["spam", null],
    ["unsub", null],
    ["invalid", null],
    ["custom", null],
  ] as const)("suppresses for the recipient-side reason %s", (reason, forMs) => {
    expect(
      rejectSuppression("a@example.com", reason, "send-result", 1000, DEFAULT_SUPPRESSION_POLICY, "why"),
    ).toEqual({
      op: "suppress",
      email: "a@example.com",
      reason,
      source: "send-result",
      detail: "why",
      expiresAt: forMs === null ? null : 1000 + forMs,
    });
  });

  it("uses the configured length for invalid addresses", () => {
    const policy = resolveSuppressionPolicy({ invalidForMs: DAY });
    expect(rejectSuppression("a@example.com", "invalid", "send-result", 1000, policy)).toMatchObject({
      expiresAt: 1000 + DAY,
      detail: null,
    });
  });

  it.each([...SENDER_SIDE_REJECT_REASONS, "brand-new-reason", "", null, undefined])(
    "does not suppress for the reason %s",
    (reason) => {
      expect(
        rejectSuppression("a@example.com", reason, "send-result", 1000, DEFAULT_SUPPRESSION_POLICY),
      ).toBeUndefined();
    },
  );

  it("does not suppress for a soft-bounce reject when soft-bounce suppression is off", () => {
    const policy = resolveSuppressionPolicy({ softBounce: false });
    expect(rejectSuppression("a@example.com", "soft-bounce", "send-result", 1000, policy)).toBeUndefined();
  });
});

describe("rejectReasonSide", () => {
  const expected: Record<(typeof REJECT_REASONS)[number], "recipient" | "sender"> = {
    "hard-bounce": "recipient",
    "soft-bounce": "recipient",
    spam: "recipient",
    unsub: "recipient",
    invalid: "recipient",
    custom: "recipient",
    "invalid-sender": "sender",
    "test-mode-limit": "sender",
    unsigned: "sender",
    rule: "sender",
    "recipient-domain-mismatch": "sender",
  };

  it.each(REJECT_REASONS)("classifies %s", (reason) => {
    expect(rejectReasonSide(reason)).toBe(expected[reason]);
  });

  it("classifies every known reason as recipient or sender side, never both", () => {
    for (const reason of REJECT_REASONS) {
      const recipient = (RECIPIENT_SIDE_REJECT_REASONS as readonly string[]).includes(reason);
      const sender = (SENDER_SIDE_REJECT_REASONS as readonly string[]).includes(reason);
      expect(recipient !== sender).toBe(true);
    }
  });

  it.each(["brand-new-reason", "Hard-Bounce", "", null, undefined])("calls %s unknown", (reason) => {
    expect(rejectReasonSide(reason)).toBe("unknown");
  });
});

describe("parseMandrillTime", () => {
  it("reads Mandrill's date format as UTC", () => {
    expect(parseMandrillTime("2014-02-08 12:43:56")).toBe(Date.UTC(2014, 1, 8, 12, 43, 56));
  });

  it("accepts ISO-style variants and surrounding white space", () => {
    const t = Date.UTC(2014, 1, 8, 12, 43, 56);
    expect(parseMandrillTime("2014-02-08T12:43:56")).toBe(t);
    expect(parseMandrillTime("2014-02-08T12:43:56Z")).toBe(t);
    expect(parseMandrillTime("2014-02-08 12:43:56.123")).toBe(t);
    expect(parseMandrillTime(" 2014-02-08 12:43:56 ")).toBe(t);
  });

  it("reads back any UTC time it is given in Mandrill's format", () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("1970-01-01T00:00:00Z"),
          max: new Date("9999-12-31T23:59:59Z"),
          noInvalidDate: true,
        }),
        (date) => {
          const seconds = Math.floor(date.getTime() / 1000) * 1000;
          const text = new Date(seconds).toISOString().slice(0, 19).replace("T", " ");
          expect(parseMandrillTime(text)).toBe(seconds);
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each([
    ["null", null],
    ["a number", 1391863436],
    ["an empty string", ""],
    ["a date without time", "2014-02-08"],
    ["a time zone offset", "2014-02-08 12:43:56+02:00"],
    ["free text", "next Tuesday"],
  ])("returns undefined for %s", (_label, value) => {
    expect(parseMandrillTime(value)).toBeUndefined();
  });

  it.each([
    ["February 30th", "2014-02-30 12:00:00"],
    ["month 13", "2014-13-01 00:00:00"],
  ])("returns undefined for a date that does not exist (%s)", (_label, value) => {
    expect(parseMandrillTime(value)).toBeUndefined();
  });
});
