import { createHash } from "node:crypto";
import type { MandrillEvent } from "./events.js";

function digest(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("base64url").slice(0, 22);
}

/** JSON with object keys sorted, so the same content always gives the same text. */
/** Nesting beyond this is not canonicalised (a hostile body must not exhaust the stack). */
const MAX_CANONICAL_DEPTH = 64;
const TOO_DEEP = Symbol("too deep");

function canonicalJson(value: unknown, depth = 0): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (depth >= MAX_CANONICAL_DEPTH) throw TOO_DEEP;
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k], depth + 1)}`).join(",")}}`;
}

/** Digest of `value` in canonical form, or of the exact source text when it nests too deep to canonicalise. */
function contentDigest(value: unknown, rawJson: string, prefix = ""): string {
  try {
    return digest(prefix + canonicalJson(value));
  } catch (error) {
    if (error === TOO_DEEP) return digest(`${prefix}raw:${rawJson}`);
    throw error;
  }
}

/** Event time as 10 zero-padded digits, so keys sort by time ("0000000000" when unknown). */
function timePrefix(ts: number | null): string {
  if (ts === null || !Number.isFinite(ts) || ts < 0) return "0000000000";
  return String(Math.floor(ts)).padStart(10, "0");
}

/**
 * A stable identity for one event, used to dedupe redelivered batches (Mandrill has no event id and
 * re-sends whole batches on retry, docs/mandrill.md#webhook-retries).
 *
 * Every key starts with the event time (`ts`, 10 digits), so keys of new events sort after older
 * ones: a store's unique index then grows at its end instead of at random places, which keeps
 * ingest write-amplification low. Then:
 * - message events: `<ts>:<type>:<_id>` (docs/mandrill.md#webhook-retries suggests `(_id, event, ts)`; two `open`s of one
 *   message in the same second are one event), plus a digest of the URL for `click` (two clicks on
 *   different links in the same second are two events);
 * - sync events: `<ts>:<type>:<action>:<digest of email and entry>` (no address in the key: keys
 *   show up in logs and URLs);
 * - inbound, and anything without an `_id` or `ts`: `<ts>:<type>:<digest of the canonical JSON>`.
 *
 * Keys are ASCII, at most ~120 characters, and identical for the same event however its JSON keys
 * are ordered or its slashes escaped.
 */
export function eventKey(event: MandrillEvent): string {
  const ts = timePrefix(event.ts);
  switch (event.category) {
    case "message": {
      if (event.messageId !== null && event.ts !== null) {
        const id =
          event.messageId.length <= 64 && /^[\w.-]+$/.test(event.messageId)
            ? event.messageId
            : digest(event.messageId);
        // A fractional ts (not seen from Mandrill) must still tell two events apart.
        const base = `${ts}:${event.type}:${id}${Number.isInteger(event.ts) ? "" : `:${digest(String(event.ts))}`}`;
        if (event.type === "click") {
          const url = event.payload.url;
          return `${base}:${digest(typeof url === "string" ? url : "")}`;
        }
        return base;
      }
      return `${ts}:${event.type}:${contentDigest(event.payload, event.rawJson)}`;
    }
    case "sync": {
      const entry =
        event.type === "blacklist" ? event.payload.reject : (event.payload.entry ?? event.payload.reject);
      return `${ts}:${event.type}:${event.action ?? "none"}:${contentDigest(entry, event.rawJson, `${event.email}|${event.ts}|`)}`;
    }
    case "inbound":
      return `${ts}:inbound:${contentDigest(event.payload, event.rawJson)}`;
    default:
      return `${ts}:unknown:${contentDigest(event.payload, event.rawJson)}`;
  }
}
