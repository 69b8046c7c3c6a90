/**
 * One realistic event of every type Mandrill posts (docs/mandrill.md#message-events,
 * docs/mandrill.md#sync-events and docs/mandrill.md#inbound-events), as plain objects, for tests of
 * code that receives webhooks. Each builder takes overrides (`email`, `id`, `ts`, …).
 */
export interface FixtureOverrides {
  email?: string;
  /** Message `_id`. */
  id?: string;
  /** Unix seconds. @default now */
  ts?: number;
  [key: string]: unknown;
}

/** Default event time: now (so suppressions with an expiry built from fixtures are still active). */
const nowSeconds = () => Math.floor(Date.now() / 1000);

let counter = 0;
const nextId = () => `fixture${(++counter).toString(16).padStart(24, "0")}`;

function message(
  event: string,
  state: string,
  extra: Record<string, unknown>,
  msgExtra: Record<string, unknown>,
) {
  return (o: FixtureOverrides = {}) => {
    const { email = "recipient@example.com", id = nextId(), ts = nowSeconds(), ...rest } = o;
    return {
      event,
      _id: id,
      ts,
      ...extra,
      msg: {
        ts: ts - 60,
        subject: "Your receipt",
        email,
        sender: "receipts@shop.example.com",
        tags: ["receipt"],
        opens: [],
        clicks: [],
        state,
        metadata: { order_id: "A1001" },
        _id: id,
        _version: "fixtureversion0000000000",
        ...msgExtra,
      },
      ...rest,
    };
  };
}

/** Builders for every event type. */
export const eventFixtures = {
  send: message("send", "sent", {}, {}),
  delivered: message("delivered", "sent", {}, {}),
  deferral: message(
    "deferral",
    "deferred",
    {},
    {
      smtp_events: [
        {
          destination_ip: "203.0.113.7",
          diag: "451 4.3.5 Temporarily unavailable, try again later.",
          source_ip: "198.51.100.2",
          ts: 1_759_999_970,
          type: "deferred",
          size: 0,
        },
      ],
    },
  ),
  hard_bounce: message(
    "hard_bounce",
    "bounced",
    {},
    {
      bounce_description: "bad_mailbox",
      bgtools_code: 10,
      diag: "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
    },
  ),
  soft_bounce: message(
    "soft_bounce",
    "soft-bounced",
    {},
    { bounce_description: "mailbox_full", bgtools_code: 22, diag: "smtp;552 5.2.2 Over Quota" },
  ),
  open: message(
    "open",
    "sent",
    { ip: "198.51.100.23", user_agent: "Mozilla/5.0", location: null, user_agent_parsed: null },
    { opens: [{ ts: 1_760_000_000 }] },
  ),
  click: message(
    "click",
    "sent",
    {
      url: "https://shop.example.com/track/A1001",
      ip: "198.51.100.23",
      user_agent: "Mozilla/5.0",
      location: null,
      user_agent_parsed: null,
    },
    { clicks: [{ ts: 1_760_000_000, url: "https://shop.example.com/track/A1001" }] },
  ),
  spam: message("spam", "spam", {}, {}),
  unsub: message("unsub", "unsub", {}, {}),
  reject: (o: FixtureOverrides & { reason?: string } = {}) => {
    const { reason = "hard-bounce", ...rest } = o;
    return message(
      "reject",
      "rejected",
      {},
      {
        reject: {
          reason,
          detail: "rejected by Mandrill's denylist",
          email: rest.email ?? "recipient@example.com",
        },
      },
    )(rest);
  },
  blacklist: (
    o: FixtureOverrides & {
      action?: "add" | "remove" | "change";
      reason?: string;
      expiresAt?: string | null;
    } = {},
  ) => {
    const {
      email = "recipient@example.com",
      ts = nowSeconds(),
      action = "add",
      reason = "hard-bounce",
      expiresAt = null,
      ...rest
    } = o;
    return {
      type: "blacklist",
      action,
      ts,
      reject: {
        reason,
        detail: "550 5.1.1 mailbox does not exist",
        last_event_at: "2026-01-01 00:00:00",
        email,
        created_at: "2026-01-01 00:00:00",
        expires_at: expiresAt,
        expired: false,
        subaccount: null,
        sender: null,
      },
      ...rest,
    };
  },
  whitelist: (o: FixtureOverrides & { action?: "add" | "remove" } = {}) => {
    const { email = "recipient@example.com", ts = nowSeconds(), action = "add", ...rest } = o;
    return {
      type: "whitelist",
      action,
      ts,
      entry: { email, detail: "allowlisted by an admin", created_at: "2026-01-01 00:00:00" },
      ...rest,
    };
  },
  inbound: (o: FixtureOverrides = {}) => {
    const { email = "support@inbound.example.com", ts = nowSeconds(), ...rest } = o;
    return {
      event: "inbound",
      ts,
      msg: {
        raw_msg: `From: <sender@example.org>\nTo: <${email}>\nSubject: Help\n\nbody\n`,
        headers: { From: "<sender@example.org>", To: `<${email}>`, Subject: "Help" },
        text: "body\n",
        html: null,
        from_email: "sender@example.org",
        from_name: "Sender",
        to: [[email, null]],
        email,
        subject: "Help",
        tags: [],
        sender: null,
        template: null,
        spam_report: { score: -2.6, matched_rules: [] },
        dkim: { signed: true, valid: true },
        spf: { result: "pass", detail: "sender SPF authorized" },
      },
      ...rest,
    };
  },
} as const;
