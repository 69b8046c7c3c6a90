import { createHmac, timingSafeEqual } from "node:crypto";
import { type Clock, isAccountId, MandrillKitError, normalizeEmail, systemClock } from "@mandrill-kit/core";

/** How long an unsubscribe link works after it was sent, by default: one year. */
export const DEFAULT_UNSUBSCRIBE_MAX_AGE_MS = 365 * 24 * 60 * 60 * 1000;

// Links issued by an instance whose clock runs a little ahead still work.
const CLOCK_SKEW_MS = 60 * 60 * 1000;

/** Options of {@link verifyUnsubscribeToken}. */
export interface VerifyUnsubscribeOptions {
  /** Oldest link accepted, from its issue time. @default one year */
  maxAgeMs?: number;
  /** @default systemClock */
  clock?: Clock;
}

/** What an unsubscribe token proves: this address asked to leave this account's mail. */
export interface UnsubscribeClaim {
  account: string;
  email: string;
  /** The send's correlation id, for the audit trail. */
  correlationId: string | null;
  /** Issued at (Unix seconds). */
  iat: number;
}

function mac(secret: string, payload: string): string {
  return createHmac("sha256", secret).update(payload, "utf8").digest("base64url").slice(0, 32);
}

/** A signed, account-bound token for a one-click unsubscribe link (`<payload>.<mac>`, URL-safe). */
export function signUnsubscribeToken(secret: string, claim: UnsubscribeClaim): string {
  const payload = Buffer.from(
    JSON.stringify([claim.account, claim.email, claim.correlationId, claim.iat]),
    "utf8",
  ).toString("base64url");
  return `${payload}.${mac(secret, payload)}`;
}

function invalid(): MandrillKitError {
  return new MandrillKitError(
    "ERR_MK_UNSUBSCRIBE_INVALID",
    "This unsubscribe link is not valid: it was altered or cut short.",
  );
}

function expired(): MandrillKitError {
  return new MandrillKitError(
    "ERR_MK_UNSUBSCRIBE_EXPIRED",
    "This unsubscribe link has expired. Use the link in a recent email, or reply to it to unsubscribe.",
  );
}

/**
 * Verifies a token (constant time) and returns its claim. Throws `ERR_MK_UNSUBSCRIBE_INVALID` for a
 * forged, altered or cut token, and `ERR_MK_UNSUBSCRIBE_EXPIRED` when it was issued more than
 * `maxAgeMs` ago.
 */
export function verifyUnsubscribeToken(
  secret: string,
  token: string,
  options: VerifyUnsubscribeOptions = {},
): UnsubscribeClaim {
  if (typeof token !== "string" || token.length > 2048) throw invalid();
  const dot = token.indexOf(".");
  if (dot <= 0) throw invalid();
  const payload = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), "utf8");
  const expected = Buffer.from(mac(secret, payload), "utf8");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parts) || parts.length !== 4) throw invalid();
  const [account, email, correlationId, iat] = parts as unknown[];
  const normalized = normalizeEmail(email);
  if (
    !isAccountId(account) ||
    normalized === undefined ||
    (correlationId !== null && typeof correlationId !== "string") ||
    typeof iat !== "number" ||
    !Number.isFinite(iat)
  )
    throw invalid();
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_UNSUBSCRIBE_MAX_AGE_MS;
  const now = (options.clock ?? systemClock).now();
  if (iat * 1000 > now + CLOCK_SKEW_MS) throw invalid();
  if (now - iat * 1000 > maxAgeMs) throw expired();
  return { account, email: normalized, correlationId: correlationId as string | null, iat };
}
