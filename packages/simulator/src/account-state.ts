import { randomBytes } from "node:crypto";
import type { MandrillSendStatus } from "@mandrill-kit/core";
import type {
  SimulatorAccountOptions,
  SimulatorDomainOptions,
  SimulatorKeyKind,
  SimulatorKeyOptions,
  SimulatorTemplateOptions,
} from "./account-options.js";
import type { WebhookState } from "./webhook-dispatcher.js";

/** An API key and the account it belongs to. */
export interface KeyState {
  key: string;
  kind: SimulatorKeyKind;
  allowedIps: string[];
  account: AccountState;
}

/** A sending domain (`senders/domains`). */
export interface DomainState {
  domain: string;
  createdAt: number;
  lastTestedAt: number;
  spf: boolean;
  dkim: boolean;
  verifiedAt: number | null;
}

/** A stored template. */
export interface TemplateState {
  slug: string;
  name: string;
  labels: string[];
  code: string | null;
  subject: string | null;
  fromEmail: string | null;
  fromName: string | null;
  text: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A denylist (rejection list) entry (docs/mandrill.md#rejection-denylist). */
export interface RejectState {
  email: string;
  reason: string;
  detail: string | null;
  createdAt: number;
  lastEventAt: number;
  /** Epoch ms, `null` = never. */
  expiresAt: number | null;
  /** Sender-level entry (unsubscribes): only mail from this address is rejected. */
  sender: string | null;
  subaccount: string | null;
  /** How many times the address was added for a bounce/complaint/unsub: drives the growing expiry. */
  timesAdded: number;
}

/** An allowlist entry. */
export interface AllowState {
  email: string;
  detail: string | null;
  createdAt: number;
}

/** An open or a click recorded on a message. */
export interface Engagement {
  ts: number;
  ip: string;
  location: string | null;
  ua: string;
  url?: string;
}

/** One recipient's copy of a message: what `messages/info` and message events describe. */
export interface MessageRecord {
  _id: string;
  version: string;
  account: AccountState;
  outboxId: string;
  email: string;
  /** What the send response said for this recipient. */
  status: MandrillSendStatus;
  rejectReason: string | null;
  queuedReason: string | null;
  /** `msg.state` / `messages/info.state`. */
  state: string;
  /** Epoch ms the message was (or is to be) sent. */
  ts: number;
  sender: string;
  subject: string | null;
  tags: string[];
  metadata: Record<string, unknown>;
  subaccount: string | null;
  template: string | null;
  opens: Engagement[];
  clicks: Engagement[];
  smtpEvents: Array<{ ts: number; type: string; diag: string }>;
  test: boolean;
  /** The denylist entry that caused a rejection, if one did. */
  reject: RejectState | null;
}

/** A simulated Mandrill account. */
export interface AccountState {
  id: string;
  username: string;
  createdAt: number;
  publicId: string;
  reputation: number;
  hourlyQuota: number;
  balance: number;
  anyDomain: boolean;
  domains: Map<string, DomainState>;
  subaccounts: Set<string>;
  templates: Map<string, TemplateState>;
  rejects: RejectState[];
  allowlist: Map<string, AllowState>;
  webhooks: Map<number, WebhookState>;
  messages: MessageRecord[];
}

/** Mandrill's template slug: lower case, runs of other characters → `-`. */
export function templateSlug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** A domain record; `valid` sets both SPF and DKIM unless the options say otherwise. */
export function domainState(options: string | SimulatorDomainOptions, now: number): DomainState {
  const o = typeof options === "string" ? { domain: options } : options;
  const spf = o.spf ?? true;
  const dkim = o.dkim ?? true;
  return {
    domain: o.domain.toLowerCase(),
    createdAt: now,
    lastTestedAt: now,
    spf,
    dkim,
    verifiedAt: spf && dkim ? now : null,
  };
}

/** A template record from `templates/add`-style fields. */
export function templateState(o: SimulatorTemplateOptions, now: number): TemplateState {
  return {
    slug: o.slug ?? templateSlug(o.name),
    name: o.name,
    labels: [...(o.labels ?? [])],
    code: o.code ?? null,
    subject: o.subject ?? null,
    fromEmail: o.from_email ?? null,
    fromName: o.from_name ?? null,
    text: o.text ?? null,
    createdAt: now,
    updatedAt: now,
  };
}

/** A fresh account from its options (keys are registered separately). */
export function createAccount(o: SimulatorAccountOptions, now: number): AccountState {
  const account: AccountState = {
    id: o.id,
    username: o.username ?? `${o.id}@example.com`,
    createdAt: now,
    publicId: randomBytes(10).toString("hex"),
    reputation: o.reputation ?? 75,
    hourlyQuota: o.hourlyQuota ?? 250,
    balance: o.balance ?? 0,
    anyDomain: o.domains === "any",
    domains: new Map(),
    subaccounts: new Set(o.subaccounts ?? []),
    templates: new Map(),
    rejects: [],
    allowlist: new Map(),
    webhooks: new Map(),
    messages: [],
  };
  if (Array.isArray(o.domains)) {
    for (const d of o.domains) {
      const state = domainState(d, now);
      account.domains.set(state.domain, state);
    }
  }
  for (const t of o.templates ?? []) {
    const state = templateState(t, now);
    account.templates.set(state.slug, state);
  }
  return account;
}

/** Key records of `o.keys` for `account`. */
export function keyStates(
  keys: ReadonlyArray<string | SimulatorKeyOptions>,
  account: AccountState,
): KeyState[] {
  return keys.map((k) => {
    const o = typeof k === "string" ? { key: k } : k;
    return { key: o.key, kind: o.kind ?? "valid", allowedIps: [...(o.allowedIps ?? [])], account };
  });
}
