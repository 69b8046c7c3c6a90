import { MandrillKitConfigError } from "./errors.js";
import type { MandrillEvent } from "./events.js";
import { rejectReasonSide } from "./message.js";
import { checkOptions } from "./options.js";
import type { SuppressionEffect, SuppressionReason, SuppressionSource } from "./store.js";

const DAY = 24 * 60 * 60 * 1000;

/** What the kit does with each signal (docs/design.md#suppression-policy). Every threshold is configurable. */
export interface SuppressionPolicy {
  /** How long a hard bounce suppresses. `null` = forever. @default null */
  hardBounceForMs: number | null;
  /** Soft bounces: suppress after `threshold` within `windowMs`, for `suppressForMs`. `false` to never. */
  softBounce: { threshold: number; windowMs: number; suppressForMs: number } | false;
  /** How long a spam complaint suppresses. @default null */
  spamForMs: number | null;
  /** How long an unsubscribe (webhook or one-click) suppresses. @default null */
  unsubForMs: number | null;
  /** How long an `invalid` reject suppresses. @default null */
  invalidForMs: number | null;
  /** Mirror Mandrill's denylist/allowlist sync events. @default true */
  mirrorSync: boolean;
}

/** The defaults of docs/design.md#suppression-policy: hard bounce, spam, unsub forever; 3 soft bounces in 7 days → 7 days. */
export const DEFAULT_SUPPRESSION_POLICY: Readonly<SuppressionPolicy> = Object.freeze({
  hardBounceForMs: null,
  softBounce: Object.freeze({ threshold: 3, windowMs: 7 * DAY, suppressForMs: 7 * DAY }),
  spamForMs: null,
  unsubForMs: null,
  invalidForMs: null,
  mirrorSync: true,
});

function show(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (value === undefined) return "undefined";
  if (typeof value === "function") return "a function";
  return JSON.stringify(value) ?? String(value);
}

function checkDuration(value: unknown, option: string, nullable: boolean): void {
  if (nullable && value === null) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      option,
      `${option} must be a positive number of milliseconds${nullable ? " or null (forever)" : ""}; received ${show(value)}.`,
    );
  }
}

const POLICY_KEYS = [
  "hardBounceForMs",
  "softBounce",
  "spamForMs",
  "unsubForMs",
  "invalidForMs",
  "mirrorSync",
] as const;
const SOFT_BOUNCE_KEYS = ["threshold", "windowMs", "suppressForMs"] as const;

/** Overrides accepted by {@link resolveSuppressionPolicy}: any subset, `softBounce` partly too. */
export interface SuppressionPolicyOptions {
  hardBounceForMs?: number | null;
  softBounce?: Partial<{ threshold: number; windowMs: number; suppressForMs: number }> | false;
  spamForMs?: number | null;
  unsubForMs?: number | null;
  invalidForMs?: number | null;
  mirrorSync?: boolean;
}

/**
 * Merges `overrides` onto {@link DEFAULT_SUPPRESSION_POLICY} (`undefined` values keep the default;
 * a partial `softBounce` is merged with the default one) and validates the result. Throws
 * `MandrillKitConfigError` for unknown keys (with a suggestion) and bad values.
 */
export function resolveSuppressionPolicy(overrides: SuppressionPolicyOptions = {}): SuppressionPolicy {
  const given = checkOptions("suppression policy", overrides, POLICY_KEYS);
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const policy = { ...DEFAULT_SUPPRESSION_POLICY, ...defined } as SuppressionPolicy;
  if (defined.softBounce !== undefined && defined.softBounce !== false) {
    const soft = checkOptions("suppression policy softBounce", defined.softBounce, SOFT_BOUNCE_KEYS);
    const base = DEFAULT_SUPPRESSION_POLICY.softBounce as {
      threshold: number;
      windowMs: number;
      suppressForMs: number;
    };
    policy.softBounce = {
      ...base,
      ...Object.fromEntries(Object.entries(soft).filter(([, v]) => v !== undefined)),
    };
  }
  checkDuration(policy.hardBounceForMs, "suppression.hardBounceForMs", true);
  checkDuration(policy.spamForMs, "suppression.spamForMs", true);
  checkDuration(policy.unsubForMs, "suppression.unsubForMs", true);
  checkDuration(policy.invalidForMs, "suppression.invalidForMs", true);
  if (policy.softBounce !== false) {
    const { threshold, windowMs, suppressForMs } = policy.softBounce;
    if (!Number.isInteger(threshold) || threshold < 1) {
      throw new MandrillKitConfigError(
        "ERR_MK_CONFIG_INVALID",
        "suppression.softBounce.threshold",
        `suppression.softBounce.threshold must be a positive integer; received ${show(threshold)}.`,
      );
    }
    checkDuration(windowMs, "suppression.softBounce.windowMs", false);
    checkDuration(suppressForMs, "suppression.softBounce.suppressForMs", false);
  }
  if (typeof policy.mirrorSync !== "boolean") {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "suppression.mirrorSync",
      `suppression.mirrorSync must be true or false; received ${show(policy.mirrorSync)}.`,
    );
  }
  return policy;
}

function until(at: number, forMs: number | null): number | null {
  return forMs === null ? null : at + forMs;
}

/**
 * The suppression for a recipient-side reject reason (`hard-bounce`, `soft-bounce`, `spam`, `unsub`,
 * `invalid`, `custom`), or `undefined` for sender-side and unknown reasons, which never suppress the
 * recipient. `custom` (the account's manual denylist) lasts for ever, as Mandrill's manual entries do.
 */
export function rejectSuppression(
  email: string,
  rejectReason: string | null | undefined,
  source: SuppressionSource,
  at: number,
  policy: SuppressionPolicy,
  detail: string | null = null,
): Extract<SuppressionEffect, { op: "suppress" }> | undefined {
  if (rejectReasonSide(rejectReason) !== "recipient") return undefined;
  const reason = rejectReason as SuppressionReason;
  if (reason === "soft-bounce" && policy.softBounce === false) return undefined;
  const forMs: Record<string, number | null> = {
    "hard-bounce": policy.hardBounceForMs,
    "soft-bounce": policy.softBounce === false ? null : policy.softBounce.suppressForMs,
    spam: policy.spamForMs,
    unsub: policy.unsubForMs,
    invalid: policy.invalidForMs,
    custom: null,
  };
  return { op: "suppress", email, reason, source, detail, expiresAt: until(at, forMs[reason] ?? null) };
}

/** Parses Mandrill's `YYYY-MM-DD HH:MM:SS` (UTC) into epoch ms, or `undefined`. */
export function parseMandrillTime(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z?$/.exec(value.trim());
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const t = date.getTime();
  // Date rolls 2014-02-30 over into March; a date that does not exist is not a date.
  const exact =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return exact && Number.isFinite(t) ? t : undefined;
}

const SYNC_REASONS: readonly string[] = ["hard-bounce", "soft-bounce", "spam", "unsub", "custom"];

function text(value: unknown, max = 500): string | null {
  return typeof value === "string" && value.length > 0 ? value.slice(0, max) : null;
}

/**
 * The suppression changes an event calls for under `policy` (docs/design.md#suppression-policy). `receivedAt` is used
 * when the event has no usable `ts`. Events without a valid address call for nothing.
 */
export function suppressionEffects(
  event: MandrillEvent,
  policy: SuppressionPolicy,
  receivedAt: number,
): SuppressionEffect[] {
  const email = event.email;
  if (email === null) return [];
  const at = event.ts !== null ? event.ts * 1000 : receivedAt;
  switch (event.type) {
    case "hard_bounce": {
      const msg = event.payload.msg;
      const detail = text(msg?.diag) ?? text(msg?.bounce_description);
      return [
        {
          op: "suppress",
          email,
          reason: "hard-bounce",
          source: "webhook",
          detail,
          expiresAt: until(at, policy.hardBounceForMs),
        },
      ];
    }
    case "soft_bounce": {
      if (policy.softBounce === false) return [];
      const msg = event.payload.msg;
      return [
        {
          op: "soft-bounce",
          email,
          detail: text(msg?.diag) ?? text(msg?.bounce_description),
          threshold: policy.softBounce.threshold,
          windowMs: policy.softBounce.windowMs,
          suppressForMs: policy.softBounce.suppressForMs,
        },
      ];
    }
    case "spam":
      return [
        {
          op: "suppress",
          email,
          reason: "spam",
          source: "webhook",
          detail: "spam complaint",
          expiresAt: until(at, policy.spamForMs),
        },
      ];
    case "unsub":
      return [
        {
          op: "suppress",
          email,
          reason: "unsub",
          source: "webhook",
          detail: "unsubscribed",
          expiresAt: until(at, policy.unsubForMs),
        },
      ];
    case "reject": {
      const payload = event.payload;
      const reject =
        payload.msg?.reject ?? (payload.reject as { reason?: unknown; detail?: unknown } | undefined);
      const reason = typeof reject?.reason === "string" ? reject.reason : null;
      const effect = rejectSuppression(email, reason, "webhook", at, policy, text(reject?.detail));
      return effect === undefined ? [] : [effect];
    }
    case "blacklist": {
      if (!policy.mirrorSync) return [];
      const reject = event.payload.reject;
      if (event.action === "remove") {
        return [
          {
            op: "lift",
            email,
            by: "mandrill-sync",
            reason: "removed from the Mandrill denylist",
            sources: ["sync"],
          },
        ];
      }
      if (
        (event.action === "add" || event.action === "change") &&
        reject !== undefined &&
        reject.expired !== true
      ) {
        const reason =
          typeof reject.reason === "string" && SYNC_REASONS.includes(reject.reason)
            ? (reject.reason as SuppressionReason)
            : "custom";
        const expiresAt = parseMandrillTime(reject.expires_at) ?? null;
        if (expiresAt !== null && expiresAt <= at) return [];
        return [{ op: "suppress", email, reason, source: "sync", detail: text(reject.detail), expiresAt }];
      }
      return [];
    }
    case "whitelist":
      if (!policy.mirrorSync || event.action !== "add") return [];
      return [{ op: "lift", email, by: "mandrill-sync", reason: "added to the Mandrill allowlist" }];
    default:
      return [];
  }
}
