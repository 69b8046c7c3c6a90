import type { MessageEventType } from "@mandrill-kit/core";
import type { MessageRecord } from "./account-state.js";
import { emit, type SimContext } from "./context.js";
import { blacklistEvent, denylist, syncRejectJson } from "./denylist.js";
import { unixSeconds } from "./mandrill-time.js";

/** Extra details for an event triggered with `control.emit` (all optional). */
export interface EmitDetails {
  /** `click`: the URL clicked. @default "https://example.com/" */
  url?: string;
  /** `open` / `click`: client IP. @default "127.0.0.1" */
  ip?: string;
  /** `open` / `click`: user agent. */
  userAgent?: string;
  /** Bounces and deferrals: the SMTP diagnostic. */
  diag?: string;
  /** Bounces: `bounce_description`. */
  bounceDescription?: string;
  /** Event time (epoch ms). @default now */
  at?: number;
}

const UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)";
const LOCATION = {
  country_short: "US",
  country: "United States",
  region: "Oklahoma",
  city: "Oklahoma City",
  latitude: 35.4675598145,
  longitude: -97.5164337158,
  postal_code: "73101",
  timezone: "-05:00",
};
const UA_PARSED = {
  type: "Browser",
  ua_family: "Safari",
  ua_name: "Safari 17.0",
  ua_version: "17.0",
  ua_url: "https://www.apple.com/safari/",
  ua_company: "Apple Inc.",
  ua_company_url: "https://www.apple.com/",
  ua_icon: "https://cdn.mandrill.com/img/email-client-icons/safari.png",
  os_family: "OS X",
  os_name: "OS X 10.15 Catalina",
  os_url: "https://www.apple.com/osx/",
  os_company: "Apple Computer, Inc.",
  os_company_url: "https://www.apple.com/",
  os_icon: "https://cdn.mandrill.com/img/email-client-icons/macosx.png",
  mobile: false,
};

const BOUNCE = {
  hard_bounce: {
    state: "bounced",
    reason: "hard-bounce",
    description: "bad_mailbox",
    bgtools: 10,
    diag: "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
  },
  soft_bounce: {
    state: "soft-bounced",
    reason: "soft-bounce",
    description: "mailbox_full",
    bgtools: 22,
    diag: "smtp;552 5.2.2 Over Quota",
  },
} as const;

/** The `msg` snapshot of a message event (docs/mandrill.md#message-events). Bounce events omit `opens`/`clicks`, like Mandrill's. */
function snapshot(record: MessageRecord, withEngagement: boolean, now: number): Record<string, unknown> {
  const msg: Record<string, unknown> = {
    ts: unixSeconds(record.ts),
    subject: record.subject,
    email: record.email,
    sender: record.sender,
    tags: [...record.tags],
  };
  if (withEngagement) {
    msg.opens = record.opens.map((o) => ({ ts: unixSeconds(o.ts) }));
    msg.clicks = record.clicks.map((c) => ({ ts: unixSeconds(c.ts), url: c.url ?? null }));
  }
  Object.assign(msg, {
    state: record.state,
    metadata: { ...record.metadata },
    _id: record._id,
    _version: record.version,
    subaccount: record.subaccount,
    template: record.template,
    smtp_events: record.smtpEvents.map((e) => ({
      ts: unixSeconds(e.ts),
      type: e.type,
      diag: e.diag,
      source_ip: "127.0.0.1",
      destination_ip: "127.0.0.1",
      size: 0,
    })),
    resends: [],
  });
  if (record.reject !== null) msg.reject = syncRejectJson(record.reject, now);
  return msg;
}

/**
 * Applies a message event to `record` — its state, opens/clicks, and Mandrill's own denylisting
 * (hard bounce, soft bounce, spam, unsubscribe → denylist + `blacklist` sync event, docs/mandrill.md#rejection-denylist) — and
 * emits it. Returns the event object as posted.
 */
export function applyMessageEvent(
  ctx: SimContext,
  record: MessageRecord,
  type: MessageEventType,
  details: EmitDetails = {},
): Record<string, unknown> {
  const now = details.at ?? ctx.now();
  const account = record.account;
  const top: Record<string, unknown> = { event: type, _id: record._id, ts: unixSeconds(now) };
  let withEngagement = true;
  let listed: { reason: string; sender: string | null; detail: string | null } | undefined;
  const msgExtra: Record<string, unknown> = {};
  switch (type) {
    case "send":
      record.state = "sent";
      record.smtpEvents.push({ ts: now, type: "sent", diag: "250 2.0.0 Ok: queued" });
      break;
    case "delivered":
      record.state = "sent";
      break;
    case "deferral": {
      record.state = "deferred";
      record.smtpEvents.push({
        ts: now,
        type: "deferred",
        diag: details.diag ?? "451 4.3.5 Temporarily unavailable, try again later.",
      });
      break;
    }
    case "hard_bounce":
    case "soft_bounce": {
      const b = BOUNCE[type];
      withEngagement = false;
      record.state = b.state;
      const diag = details.diag ?? b.diag;
      Object.assign(msgExtra, {
        bounce_description: details.bounceDescription ?? b.description,
        bgtools_code: b.bgtools,
        diag,
      });
      record.smtpEvents.push({ ts: now, type: type === "hard_bounce" ? "bounced" : "soft-bounced", diag });
      listed = { reason: b.reason, sender: null, detail: diag.replace(/^smtp;/, "") };
      break;
    }
    case "open":
    case "click": {
      const engagement = {
        ts: now,
        ip: details.ip ?? "127.0.0.1",
        location: "Oklahoma City, US",
        ua: details.userAgent ?? UA,
      };
      Object.assign(top, {
        ip: engagement.ip,
        location: LOCATION,
        user_agent: engagement.ua,
        user_agent_parsed: UA_PARSED,
      });
      if (type === "click") {
        const url = details.url ?? "https://example.com/";
        top.url = url;
        record.clicks.push({ ...engagement, url });
      } else {
        record.opens.push(engagement);
      }
      break;
    }
    case "spam":
      record.state = "spam";
      listed = { reason: "spam", sender: null, detail: "Spam complaint" };
      break;
    case "unsub":
      record.state = "unsub";
      // Unsubscribes are sender-level: only mail from the same From address is rejected (docs/mandrill.md#rejection-denylist).
      listed = { reason: "unsub", sender: record.sender, detail: "Unsubscribed" };
      break;
    case "reject":
      record.state = "rejected";
      break;
  }
  top.msg = { ...snapshot(record, withEngagement, now), ...msgExtra };
  emit(ctx, account, type, top, { messageId: record._id, email: record.email });
  if (listed !== undefined) {
    const change = denylist(
      account,
      {
        email: record.email,
        reason: listed.reason,
        detail: listed.detail,
        sender: listed.sender,
        subaccount: record.subaccount,
      },
      now,
    );
    if (change !== undefined) {
      emit(ctx, account, "blacklist", blacklistEvent(change.action, change.entry, now), {
        messageId: null,
        email: record.email,
      });
    }
  }
  return top;
}
