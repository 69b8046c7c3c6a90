import type { AccountState, AllowState, RejectState } from "./account-state.js";
import { formatMandrillTime, formatOptionalTime, unixSeconds } from "./mandrill-time.js";

const DAY = 24 * 60 * 60 * 1000;

/**
 * How long a denylist entry lasts the first time (docs/mandrill.md#rejection-denylist): soft bounce 24 h, hard bounce 7 days,
 * spam and unsubscribe 1 year, manual (`custom`) never.
 */
export const DENYLIST_DURATION_MS: Readonly<Record<string, number | null>> = Object.freeze({
  "soft-bounce": DAY,
  "hard-bounce": 7 * DAY,
  spam: 365 * DAY,
  unsub: 365 * DAY,
  custom: null,
});

/** True once the entry's expiry has passed. Expired entries stay listed (`expired: true`). */
export function isExpired(entry: RejectState, now: number): boolean {
  return entry.expiresAt !== null && entry.expiresAt <= now;
}

/**
 * The active entry that stops mail from `sender` (and `subaccount`) to `email`, if any. Entries without
 * a sender or subaccount apply to all mail of the account; sender-level entries (unsubscribes,
 * docs/mandrill.md#rejection-denylist) only to mail from that sender; subaccount entries only to that subaccount's mail.
 */
export function blockingEntry(
  account: AccountState,
  email: string,
  sender: string,
  subaccount: string | null,
  now: number,
): RejectState | undefined {
  if (account.allowlist.has(email)) return undefined;
  return account.rejects.find(
    (e) =>
      e.email === email &&
      !isExpired(e, now) &&
      (e.sender === null || e.sender === sender) &&
      (e.subaccount === null || e.subaccount === subaccount),
  );
}

/** Each account's entries by address, sender and subaccount: `denylist` finds one without a scan. */
const entryIndex = new WeakMap<AccountState, Map<string, RejectState>>();

const entryKey = (email: string, sender: string | null, subaccount: string | null): string =>
  `${email}\u0000${sender ?? ""}\u0000${subaccount ?? ""}`;

function indexOf(account: AccountState): Map<string, RejectState> {
  let index = entryIndex.get(account);
  if (index === undefined) {
    index = new Map(account.rejects.map((e) => [entryKey(e.email, e.sender, e.subaccount), e]));
    entryIndex.set(account, index);
  }
  return index;
}

/** What a denylist change did, for the `blacklist` sync event (docs/mandrill.md#sync-events). */
export interface DenylistChange {
  entry: RejectState;
  action: "add" | "change";
}

/**
 * Puts `email` on the denylist. A new or expired entry is an `add`, an active one re-added is a
 * `change`. Repeat bounces, complaints and unsubscribes list the address for longer each time: the
 * duration doubles per repeat (ASSUMED: docs/mandrill.md#rejection-denylist says "for longer" without the growth). Returns
 * `undefined` when the address is allowlisted (bounces then do not denylist it, docs/mandrill.md#rejection-denylist).
 */
export function denylist(
  account: AccountState,
  input: {
    email: string;
    reason: string;
    detail: string | null;
    sender: string | null;
    subaccount: string | null;
  },
  now: number,
): DenylistChange | undefined {
  if (account.allowlist.has(input.email)) return undefined;
  const index = indexOf(account);
  const key = entryKey(input.email, input.sender, input.subaccount);
  const existing = index.get(key);
  const base = input.reason in DENYLIST_DURATION_MS ? (DENYLIST_DURATION_MS[input.reason] ?? null) : null;
  if (existing === undefined) {
    const entry: RejectState = {
      ...input,
      createdAt: now,
      lastEventAt: now,
      expiresAt: base === null ? null : now + base,
      timesAdded: 1,
    };
    account.rejects.push(entry);
    index.set(key, entry);
    return { entry, action: "add" };
  }
  const action = isExpired(existing, now) ? "add" : "change";
  existing.lastEventAt = now;
  if (existing.reason === "custom" && action === "change") return { entry: existing, action };
  existing.timesAdded += 1;
  existing.reason = input.reason;
  existing.detail = input.detail;
  existing.expiresAt = base === null ? null : now + base * 2 ** (existing.timesAdded - 1);
  if (action === "add") existing.createdAt = now;
  return { entry: existing, action };
}

/** Removes every entry for `email` (in `subaccount`, when given); returns them. */
export function undenylist(account: AccountState, email: string, subaccount: string | null): RejectState[] {
  const removed = account.rejects.filter(
    (e) => e.email === email && (subaccount === null || e.subaccount === subaccount),
  );
  account.rejects = account.rejects.filter((e) => !removed.includes(e));
  const index = indexOf(account);
  for (const e of removed) index.delete(entryKey(e.email, e.sender, e.subaccount));
  return removed;
}

/** The entry as sync events carry it (`reject`, docs/mandrill.md#sync-events): `sender` is the address or null. */
export function syncRejectJson(entry: RejectState, now: number): Record<string, unknown> {
  return {
    reason: entry.reason,
    detail: entry.detail,
    last_event_at: formatMandrillTime(entry.lastEventAt),
    email: entry.email,
    created_at: formatMandrillTime(entry.createdAt),
    expires_at: formatOptionalTime(entry.expiresAt),
    expired: isExpired(entry, now),
    subaccount: entry.subaccount,
    sender: entry.sender,
  };
}

/** The entry as `rejects/list` returns it: `sender` is a sender stats object or null (docs/mandrill.md#api-methods-the-kit-uses). */
export function listRejectJson(entry: RejectState, now: number): Record<string, unknown> {
  return {
    email: entry.email,
    reason: entry.reason,
    detail: entry.detail,
    created_at: formatMandrillTime(entry.createdAt),
    last_event_at: formatMandrillTime(entry.lastEventAt),
    expires_at: formatOptionalTime(entry.expiresAt),
    expired: isExpired(entry, now),
    sender:
      entry.sender === null
        ? null
        : {
            address: entry.sender,
            created_at: formatMandrillTime(entry.createdAt),
            sent: 0,
            hard_bounces: 0,
            soft_bounces: 0,
            rejects: 0,
            complaints: 0,
            unsubs: 0,
            opens: 0,
            clicks: 0,
            unique_opens: 0,
            unique_clicks: 0,
          },
    subaccount: entry.subaccount,
  };
}

/** A `blacklist` sync event (docs/mandrill.md#sync-events). */
export function blacklistEvent(action: "add" | "change" | "remove", entry: RejectState, now: number) {
  return { type: "blacklist", action, ts: unixSeconds(now), reject: syncRejectJson(entry, now) };
}

/** The allowlist entry as `whitelists/list` and sync events carry it. */
export function allowJson(entry: AllowState): Record<string, unknown> {
  return { email: entry.email, detail: entry.detail, created_at: formatMandrillTime(entry.createdAt) };
}

/** A `whitelist` sync event (docs/mandrill.md#sync-events): the body key is `entry`. */
export function whitelistEvent(action: "add" | "remove", entry: AllowState, now: number) {
  return { type: "whitelist", action, ts: unixSeconds(now), entry: allowJson(entry) };
}
