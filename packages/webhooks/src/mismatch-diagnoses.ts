import type { Clock } from "@mandrill-kit/core";
import type { SignatureDiagnosis } from "./diagnose.js";

/** Mismatches on bodies larger than this are not diagnosed: the work grows with the body. */
export const DIAGNOSIS_MAX_BODY_BYTES = 64 * 1024;
/** Accounts whose diagnoses (and rate-limit state) are kept; the least recently used go first. */
const MAX_ACCOUNTS = 1000;
/** Diagnoses kept per account, newest first. */
const PER_ACCOUNT = 20;
/** Per account: a burst of 5, then one every 12 s. */
const ACCOUNT_BUCKET = { capacity: 5, refillMs: 12_000 };
/** All accounts together: a burst of 60, then one a second. */
const GLOBAL_BUCKET = { capacity: 60, refillMs: 1000 };

interface Bucket {
  tokens: number;
  at: number;
}

function take(bucket: Bucket, limits: { capacity: number; refillMs: number }, now: number): boolean {
  bucket.tokens = Math.min(limits.capacity, bucket.tokens + Math.max(0, now - bucket.at) / limits.refillMs);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/** Map.get that marks the entry most recently used, and a set that evicts the least recently used. */
function touch<V>(map: Map<string, V>, key: string, create: () => V): V {
  let value = map.get(key);
  if (value !== undefined) map.delete(key);
  else {
    value = create();
    if (map.size >= MAX_ACCOUNTS) map.delete(map.keys().next().value as string);
  }
  map.set(key, value);
  return value;
}

/** Why a mismatch was or was not diagnosed. */
export type Admission = "diagnose" | "body-too-large" | "rate-limited";

/**
 * The router's memory of signature mismatches: bounded in accounts and entries, and rate-limited so
 * unauthenticated posts cannot make the router spend CPU on diagnoses (small bodies only, a few per
 * account per minute, a cap for all accounts together).
 */
export interface DiagnosisLog {
  /** Whether a mismatch on a `bodyBytes` body for `account` may be diagnosed now (spends a token). */
  admit(account: string, bodyBytes: number): Admission;
  record(diagnosis: SignatureDiagnosis): void;
  /** Newest first. */
  list(account: string): SignatureDiagnosis[];
}

export function createDiagnosisLog(clock: Clock): DiagnosisLog {
  const lists = new Map<string, SignatureDiagnosis[]>();
  const buckets = new Map<string, Bucket>();
  const global: Bucket = { tokens: GLOBAL_BUCKET.capacity, at: clock.now() };
  return {
    admit(account, bodyBytes) {
      if (bodyBytes > DIAGNOSIS_MAX_BODY_BYTES) return "body-too-large";
      const now = clock.now();
      const own = touch(buckets, account, () => ({ tokens: ACCOUNT_BUCKET.capacity, at: now }));
      // The account's own bucket first: one noisy account cannot drain the allowance of all others.
      if (!take(own, ACCOUNT_BUCKET, now)) return "rate-limited";
      return take(global, GLOBAL_BUCKET, now) ? "diagnose" : "rate-limited";
    },
    record(diagnosis) {
      const list = touch(lists, diagnosis.account, () => []);
      list.unshift(diagnosis);
      list.length = Math.min(list.length, PER_ACCOUNT);
    },
    list: (account) => [...(lists.get(account) ?? [])],
  };
}
