import { type InboxEventInput, resolveSuppressionPolicy } from "@mandrill-kit/core";
import { parseMandrillEvents } from "@mandrill-kit/core/plugin";
import { inboxInputs } from "../../packages/webhooks/src/ingest-events.js";
/**
 * Realistic Mandrill webhook events (shapes of docs/mandrill.md#message-events, about 700 bytes each as
 * Mandrill serialises them, with `\/`-escaped slashes) for benchmarks.
 */

/** Event mixes, in events per 1,000. */
export type EventMix = ReadonlyArray<[string, number]>;

/**
 * A transactional sender's typical webhook traffic: mostly sends, deliveries, opens and clicks;
 * about 2% hard and 1.5% soft bounces, 0.1% complaints, 0.4% unsubscribes (industry-typical rates
 * for transactional mail) — 4% of events change the suppression list.
 */
export const TYPICAL_MIX: EventMix = [
  ["send", 420],
  ["delivered", 260],
  ["open", 160],
  ["click", 80],
  ["deferral", 40],
  ["hard_bounce", 20],
  ["soft_bounce", 15],
  ["spam", 1],
  ["unsub", 4],
];

/** A bounce-heavy stress mix: 15% of events change the suppression list. */
export const BOUNCE_HEAVY_MIX: EventMix = [
  ["send", 400],
  ["delivered", 200],
  ["open", 150],
  ["click", 100],
  ["hard_bounce", 50],
  ["soft_bounce", 40],
  ["spam", 30],
  ["unsub", 30],
];

function pickType(i: number, mix: EventMix): string {
  // Spread types evenly through the batch: slot = a stride permutation of 0..999.
  const slot = (i * 389) % 1000;
  let acc = 0;
  for (const [type, weight] of mix) {
    acc += weight;
    if (slot < acc) return type;
  }
  return "send";
}

function hex(n: number, width = 32): string {
  return n.toString(16).padStart(width, "0").slice(-width);
}

/** One event object; `seed` makes ids and addresses unique. */
export function realisticEvent(seed: number, mix: EventMix = TYPICAL_MIX): Record<string, unknown> {
  const type = pickType(seed, mix);
  const id = hex(seed * 2654435761);
  const ts = 1_760_000_000 + seed;
  const email = `customer${seed % 50_000}@mail${seed % 97}.example.com`;
  const msg: Record<string, unknown> = {
    ts: ts - 60,
    subject: "Your order #A-10293 has shipped — track it here",
    email,
    sender: "orders@shop.example.com",
    tags: ["order-shipped", "transactional"],
    opens: type === "open" || type === "click" ? [{ ts }] : [],
    clicks: type === "click" ? [{ ts, url: "https://shop.example.com/track/A-10293" }] : [],
    state:
      type === "hard_bounce"
        ? "bounced"
        : type === "soft_bounce"
          ? "soft-bounced"
          : type === "deferral"
            ? "deferred"
            : "sent",
    metadata: { user_id: seed, order_id: `A-${10_000 + (seed % 90_000)}` },
    _id: id,
    _version: hex(seed, 22),
    subaccount: null,
    template: "order-shipped",
  };
  if (type === "hard_bounce") {
    msg.bounce_description = "bad_mailbox";
    msg.bgtools_code = 10;
    msg.diag = "smtp;550 5.1.1 The email account that you tried to reach does not exist.";
  } else if (type === "soft_bounce") {
    msg.bounce_description = "mailbox_full";
    msg.bgtools_code = 22;
    msg.diag = "smtp;552 5.2.2 Over Quota";
  } else if (type === "deferral") {
    msg.smtp_events = [
      {
        destination_ip: "203.0.113.7",
        diag: "451 4.3.5 Temporarily unavailable, try again later.",
        source_ip: "198.51.100.2",
        ts: ts - 30,
        type: "deferred",
        size: 0,
      },
    ];
  } else {
    msg.smtp_events = [
      {
        destination_ip: "203.0.113.7",
        diag: "250 2.0.0 OK",
        source_ip: "198.51.100.2",
        ts: ts - 30,
        type: "sent",
        size: 14_233,
      },
    ];
  }
  const event: Record<string, unknown> = { event: type, _id: id, ts, msg };
  if (type === "open" || type === "click") {
    event.ip = "198.51.100.23";
    event.user_agent =
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
    event.location = {
      country_short: "US",
      country: "United States",
      region: "Oklahoma",
      city: "Oklahoma City",
      postal_code: "73101",
      timezone: "-05:00",
      latitude: 35.46,
      longitude: -97.51,
    };
  }
  if (type === "click") event.url = "https://shop.example.com/track/A-10293";
  return event;
}

/** Mandrill's JSON: compact, with `/` escaped as `\/` (docs/mandrill.md#webhook-wire-format). */
export function mandrillJson(value: unknown): string {
  return JSON.stringify(value).replace(/\//g, "\\/");
}

/** The `mandrill_events` value of a batch of `size` events starting at `seed`. */
export function realisticBatch(seed: number, size = 1000, mix: EventMix = TYPICAL_MIX): string {
  return mandrillJson(Array.from({ length: size }, (_, i) => realisticEvent(seed + i, mix)));
}

const benchPolicy = resolveSuppressionPolicy();

/** Parses a `mandrill_events` value into inbox inputs exactly as the webhook router does. */
export function toInboxInputs(text: string, receivedAt: number): InboxEventInput[] {
  const parsed = parseMandrillEvents(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return inboxInputs(parsed.events, benchPolicy, receivedAt);
}
