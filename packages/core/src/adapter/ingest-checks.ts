/**
 * Checks of what a store is asked to ingest, shared by every store: each event (key, type, time, its
 * text as a string or as UTF-8 bytes), its suppression effects, and the batch's account and time.
 * Called before anything is written, so one bad event aborts the whole batch.
 */
import { isUtf8 } from "node:buffer";
import { requireAccountId } from "../account-id.js";
import { normalizeEmail, requireEmail } from "../email.js";
import { Utf8InboxEvent } from "../inbox-event-utf8.js";
import {
  type InboxEventInput,
  SUPPRESSION_REASONS,
  SUPPRESSION_SOURCES,
  type SuppressionEffect,
} from "../store.js";
import { invalid, requireEnum, requireTime } from "./validate.js";

/** Validates an effect (called before any write, so a bad effect aborts the whole ingest). */
export function normalizeEffect(effect: SuppressionEffect): SuppressionEffect {
  const email = requireEmail(effect.email, "effects.email");
  switch (effect.op) {
    case "suppress":
      return {
        op: "suppress",
        email,
        reason: requireEnum(effect.reason, SUPPRESSION_REASONS, "effects.reason"),
        source: requireEnum(effect.source, SUPPRESSION_SOURCES, "effects.source"),
        detail: effect.detail ?? null,
        expiresAt: effect.expiresAt === null ? null : requireTime(effect.expiresAt, "effects.expiresAt"),
      };
    case "soft-bounce":
      if (!Number.isInteger(effect.threshold) || effect.threshold < 1) {
        throw invalid("effects.threshold", "must be a positive integer");
      }
      return {
        op: "soft-bounce",
        email,
        detail: effect.detail ?? null,
        threshold: effect.threshold,
        windowMs: requireTime(effect.windowMs, "effects.windowMs"),
        suppressForMs: requireTime(effect.suppressForMs, "effects.suppressForMs"),
      };
    case "lift":
      return {
        op: "lift",
        email,
        by: String(effect.by),
        reason: String(effect.reason),
        ...(effect.sources === undefined
          ? {}
          : { sources: effect.sources.map((s) => requireEnum(s, SUPPRESSION_SOURCES, "effects.sources")) }),
      };
    default:
      throw invalid(
        "effects.op",
        "is not a known effect",
        `effects.op must be suppress, soft-bounce or lift; received ${JSON.stringify((effect as { op?: unknown }).op)}.`,
      );
  }
}

/**
 * An event checked by {@link normalizeInboxEvent}: address normalised, effects checked, state explicit.
 * One given with `rawUtf8` keeps it (a `Utf8InboxEvent`): a store should write those bytes rather than
 * read `raw`, which decodes them.
 */
export interface NormalizedInboxEvent extends InboxEventInput {
  email: string | null;
  effects: readonly SuppressionEffect[];
  state: "pending" | "done";
}

/**
 * The refusal of one event's field. A module function, not a closure made per call: the check below
 * runs for every event ingested, and a closure per event is garbage per event (under tsx, whose
 * `keepNames` names each one, several hundred bytes each: measured 0.6 MB per 1,000-event batch).
 */
function bad(field: string, message: string) {
  return invalid(`events.${field}`, message, `events: ${field} ${message}.`);
}

/**
 * Checks one event to ingest (key, type, event time, raw text), normalises its address (`null` when
 * not valid) and its effects; called for every event before a store writes anything, so a bad one
 * aborts the whole batch.
 */
export function normalizeInboxEvent(e: InboxEventInput): NormalizedInboxEvent {
  if (typeof e.key !== "string" || e.key.length === 0 || e.key.length > 512)
    throw bad("key", "must be a string of 1–512 characters");
  if (typeof e.type !== "string" || e.type.length === 0 || e.type.length > 128)
    throw bad("type", "must be a string of 1–128 characters");
  if (e.eventAt !== null && !Number.isSafeInteger(e.eventAt))
    throw bad("eventAt", "must be epoch milliseconds (a safe integer) or null");
  const email = e.email === null ? null : (normalizeEmail(e.email) ?? null);
  const effects = e.effects === undefined || e.effects.length === 0 ? [] : e.effects.map(normalizeEffect);
  const state = e.state === "done" ? "done" : "pending";
  if (e.rawUtf8 !== undefined) {
    // The text stays bytes (stores write them as they are); `raw` is decoded only if read.
    if (!(e.rawUtf8 instanceof Uint8Array) || !isUtf8(e.rawUtf8))
      throw bad("rawUtf8", "must be the event's JSON text as well-formed UTF-8 bytes");
    // The router's events are already this shape: one with nothing to change is used as it is.
    const unchanged =
      email === e.email && effects.length === 0 && e.effects?.length === 0 && state === e.state;
    if (unchanged && e instanceof Utf8InboxEvent) return e;
    const { key, type, messageId, eventAt } = e;
    return new Utf8InboxEvent({ key, type, email, messageId, eventAt, effects, state }, e.rawUtf8);
  }
  if (typeof e.raw !== "string") throw bad("raw", "must be the event's JSON text");
  return { ...e, email, effects, state };
}

/** Checks every event of a batch (see {@link normalizeInboxEvent}) and its account and time. */
export function normalizeIngestBatch(batch: {
  account: string;
  receivedAt?: number;
  events: readonly InboxEventInput[];
}): { account: string; receivedAt: number; events: NormalizedInboxEvent[] } {
  return {
    account: requireAccountId(batch.account),
    receivedAt: batch.receivedAt ?? Date.now(),
    events: batch.events.map(normalizeInboxEvent),
  };
}
