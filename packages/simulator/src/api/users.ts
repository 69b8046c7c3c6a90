import type { AccountState, MessageRecord } from "../account-state.js";
import { formatMandrillTime } from "../mandrill-time.js";
import type { ApiHandler } from "./api-call.js";

const DAY = 24 * 60 * 60 * 1000;

function counts(records: readonly MessageRecord[]) {
  const c = {
    sent: 0,
    hard_bounces: 0,
    soft_bounces: 0,
    rejects: 0,
    complaints: 0,
    unsubs: 0,
    opens: 0,
    unique_opens: 0,
    clicks: 0,
    unique_clicks: 0,
  };
  for (const r of records) {
    if (r.state === "rejected") c.rejects += 1;
    else if (r.state !== "queued" && r.state !== "scheduled") c.sent += 1;
    if (r.state === "bounced") c.hard_bounces += 1;
    if (r.state === "soft-bounced") c.soft_bounces += 1;
    if (r.state === "spam") c.complaints += 1;
    if (r.state === "unsub") c.unsubs += 1;
    c.opens += r.opens.length;
    c.clicks += r.clicks.length;
    if (r.opens.length > 0) c.unique_opens += 1;
    if (r.clicks.length > 0) c.unique_clicks += 1;
  }
  return c;
}

function stats(account: AccountState, now: number) {
  const since = (ms: number) => account.messages.filter((m) => m.ts >= ms && m.ts <= now);
  const midnight = Math.floor(now / DAY) * DAY;
  return {
    today: counts(since(midnight)),
    last_7_days: counts(since(now - 7 * DAY)),
    last_30_days: counts(since(now - 30 * DAY)),
    last_60_days: counts(since(now - 60 * DAY)),
    last_90_days: counts(since(now - 90 * DAY)),
    all_time: counts(account.messages),
  };
}

/** `users/ping`: the JSON string `"PONG!"` (docs/mandrill.md#api-methods-the-kit-uses). */
export const ping: ApiHandler = () => "PONG!";

/** `users/ping2`: `{"PING":"PONG!"}`. */
export const ping2: ApiHandler = () => ({ PING: "PONG!" });

/** `users/info` (docs/mandrill.md#api-methods-the-kit-uses). */
export const info: ApiHandler = ({ ctx, account }) => {
  const now = ctx.now();
  return {
    username: account.username,
    created_at: formatMandrillTime(account.createdAt),
    public_id: account.publicId,
    reputation: account.reputation,
    hourly_quota: account.hourlyQuota,
    backlog: account.messages.filter((m) => m.state === "queued").length,
    stats: stats(account, now),
  };
};

/** `users/senders`: stats per From address used. */
export const senders: ApiHandler = ({ account }) => {
  const bySender = new Map<string, MessageRecord[]>();
  for (const m of account.messages) bySender.set(m.sender, [...(bySender.get(m.sender) ?? []), m]);
  return [...bySender].map(([address, records]) => {
    const c = counts(records);
    return {
      address,
      created_at: formatMandrillTime(Math.min(...records.map((r) => r.ts))),
      sent: c.sent,
      hard_bounces: c.hard_bounces,
      soft_bounces: c.soft_bounces,
      rejects: c.rejects,
      complaints: c.complaints,
      unsubs: c.unsubs,
      opens: c.opens,
      clicks: c.clicks,
      unique_opens: c.unique_opens,
      unique_clicks: c.unique_clicks,
    };
  });
};
