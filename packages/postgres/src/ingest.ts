/**
 * `inbox.ingest` on PostgreSQL: one INSERT … SELECT for the batch (columns as binary arrays through
 * `unnest`, the raw JSON texts as one binary `bytea` sliced by byte offsets) that leaves out the keys
 * already stored and also queues the new pending events (`inbox_pending`), then the suppression
 * effects of the events that were new, on rows read under lock, in the same transaction: their writes
 * go with the COMMIT, in one round trip (txWithLast).
 */
import type { AppliedEffect, IngestResult } from "@mandrill-kit/core";
import {
  applySuppressionEffects,
  type NormalizedInboxEvent,
  type SuppressionRow,
} from "@mandrill-kit/core/adapter";
import type { Pool, PoolClient } from "pg";
import { int4Array, int8Array, textArray } from "./binary.js";
import { RunAgain } from "./errors.js";
import { q, txWithLast } from "./queries.js";
import {
  type LoadedSuppressions,
  loadedFrom,
  loadedKey,
  type SuppressionLocks,
  stage,
} from "./suppressions.js";

const UNIQUE_VIOLATION = "23505";

/**
 * The ingest transaction's BEGIN: its statement planned generically, with the parameters as
 * parameters. A custom plan (the default for an unnamed statement) puts each value into the plan as a
 * constant, and the planner copies those (the batch's ~1 MB of arrays and JSON) several times: about a
 * tenth of the server's time for a 1,000-event batch. The plan's shape does not depend on the values
 * (forced by OFFSET 0 and LATERAL). SET LOCAL ends with the transaction; a batch without effects
 * (one statement, no transaction) keeps the custom plan.
 */
const BEGIN_GENERIC = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan";

const INBOX_COLUMNS =
  "account, key, type, email, message_id, event_at, raw, received_at, state, attempts, completed_at, due_at";

/** The events' JSON texts as one `bytea` and where each text is in it: bytes [starts[i], ends[i]). */
export interface PackedTexts {
  bytes: Buffer;
  starts: number[];
  ends: number[];
}

/** Whether bytes [from, to) of `view` are JSON's separators between array elements: commas and whitespace. */
function separatorsOnly(view: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = view[i];
    if (b !== 0x2c && b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return false;
  }
  return true;
}

/**
 * The span of one buffer that holds every text in order with nothing between them but commas and
 * whitespace, when each text is a view of that buffer: the webhook router gives them so (ranges of the
 * decoded `mandrill_events` array). Sent as it is, nothing copied. Anything else in between (an event
 * left out as a duplicate in the batch, or unrelated bytes of a shared allocation pool, which must not
 * reach the server) and the texts are copied instead (~1 MB for a 1,000-event batch).
 */
function sharedSpan(texts: readonly (string | Uint8Array)[]): PackedTexts | undefined {
  const first = texts[0];
  // Not a SharedArrayBuffer: another thread could change the bytes between them after the check.
  if (!(first instanceof Uint8Array) || !(first.buffer instanceof ArrayBuffer)) return undefined;
  const { buffer } = first;
  const base = first.byteOffset;
  const whole = new Uint8Array(buffer);
  const starts: number[] = new Array(texts.length);
  const ends: number[] = new Array(texts.length);
  let end = base;
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (!(t instanceof Uint8Array) || t.buffer !== buffer || t.byteOffset < end) return undefined;
    if (!separatorsOnly(whole, end, t.byteOffset)) return undefined;
    starts[i] = t.byteOffset - base;
    end = t.byteOffset + t.byteLength;
    ends[i] = end - base;
  }
  return { bytes: Buffer.from(buffer, base, end - base), starts, ends };
}

/**
 * The events' JSON texts as one `bytea` parameter and the byte range of each: sent as it is (binary),
 * where a `text[]` of JSON would be escaped element by element by the driver and parsed back the same
 * way by the server, ~1 MB per batch each way. Texts given as UTF-8 bytes (an event's `rawUtf8`) that
 * are views of one buffer, in order, are sent as that buffer's span (sharedSpan); otherwise each is
 * copied (bytes) or encoded (strings) into a new buffer, end to end.
 */
export function packTexts(texts: readonly (string | Uint8Array)[]): PackedTexts {
  const span = sharedSpan(texts);
  if (span !== undefined) return span;
  // Written in one pass into room for the worst case (3 bytes of UTF-8 per UTF-16 unit), rather than
  // measuring each text first.
  let room = 0;
  for (const t of texts) room += typeof t === "string" ? t.length * 3 : t.byteLength;
  const bytes = Buffer.allocUnsafe(room);
  const starts: number[] = new Array(texts.length);
  const ends: number[] = new Array(texts.length);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    starts[i] = at;
    const text = texts[i] as string | Uint8Array;
    if (typeof text === "string") at += bytes.write(text, at, "utf8");
    else {
      bytes.set(text, at);
      at += text.byteLength;
    }
    ends[i] = at;
  }
  return { bytes: bytes.subarray(0, at), starts, ends };
}

/** What the effects of a batch's events need read under the ingest's lock: see {@link effectReads}. */
interface EffectReads {
  /** Each effect of an event with effects: the event's key and the effect's address. */
  keys: string[];
  emails: string[];
  /** Soft-bounce windows by address: the widest of the address's soft-bounce effects. */
  windows: Map<string, { lo: number; hi: number }>;
}

/**
 * The reads of the effects of the (unique) events, known before the insert: the suppressions of their
 * addresses, and the stored soft bounces of each address's widest window (more than the events that
 * turn out new need; applyEffects counts within each effect's own window).
 */
function effectReads(events: readonly NormalizedInboxEvent[], receivedAt: number): EffectReads {
  const reads: EffectReads = { keys: [], emails: [], windows: new Map() };
  for (const e of events) {
    const at = e.eventAt ?? receivedAt;
    for (const effect of e.effects) {
      reads.keys.push(e.key);
      reads.emails.push(effect.email);
      if (effect.op !== "soft-bounce") continue;
      const w = reads.windows.get(effect.email);
      const lo = at - effect.windowMs;
      reads.windows.set(
        effect.email,
        w === undefined ? { lo, hi: at } : { lo: Math.min(w.lo, lo), hi: Math.max(w.hi, at) },
      );
    }
  }
  return reads;
}

/**
 * The batch's statement (see insertEvents). Parameters: $1 account, $2 receivedAt, $3…$7 key, type,
 * email, message_id, event_at (binary arrays, see binary.ts), $8 the raw texts (packTexts), $9 state,
 * $10/$11 each text's start and end offsets in $8; with effects, $12/$13 each effect's event key and
 * address, and $14…$16 the soft-bounce windows (address, low, high).
 *
 * With `probe`, keys already stored are left out by a probe of the unique index per key (a correlated
 * subquery, kept one by OFFSET 0 so the planner cannot turn it into a scan of the table), so the rest
 * is a plain INSERT: ON CONFLICT DO NOTHING costs a speculative insertion per row (~15% of the
 * statement's server time). Without `probe` (the first attempt: see ingest) every key is inserted,
 * which spares the probe (a sixth of the statement's server time: the unique index's own check on
 * insert finds the same thing) when none is stored yet, and fails on the unique index (23505) when
 * one is. A key that a concurrent transaction stores first fails it the same way. Either way the
 * transaction runs again with the probe, which leaves the stored keys out: the same outcome.
 * Pending events are stored 'queued' with their queue row (due at receipt) in the same statement.
 *
 * With effects, the same statement locks (FOR UPDATE, in address order, as SuppressionLocks.load) the
 * suppressions of the addresses of the effects of the events it stored, and reads the soft bounces
 * stored before it (its own inserts are not visible to it: applyEffects adds the batch's). Both are
 * an index probe per address (a LATERAL subquery each, which the planner cannot turn into a scan of
 * the account's rows, whatever its statistics say); the addresses are visited, and so locked, in
 * bytewise order.
 * One row comes back: how many events were stored and, only when some were not (duplicates), which;
 * the locked suppressions and the soft bounces as JSON.
 */
export function insertStatement(S: string, withEffects: boolean, probe: boolean): string {
  const reads = withEffects
    ? `, locked AS (
       SELECT l.* FROM (
         SELECT DISTINCT f.email COLLATE "C" AS email FROM unnest($12::text[], $13::text[]) AS f(key, email)
         JOIN stored USING (key) ORDER BY 1
       ) e
       CROSS JOIN LATERAL (
         SELECT s.* FROM ${S}.suppressions s WHERE s.account = $1 AND s.email = e.email FOR UPDATE
       ) l
     ), bounces AS (
       SELECT i.key, i.email, i.event_at FROM unnest($14::text[], $15::bigint[], $16::bigint[]) AS b(email, lo, hi)
       CROSS JOIN LATERAL (
         SELECT x.key, x.email, x.event_at FROM ${S}.inbox x
         WHERE x.account = $1 AND x.type = 'soft_bounce' AND x.email = b.email AND x.event_at > b.lo AND x.event_at <= b.hi
         OFFSET 0
       ) i
     )`
    : "";
  const readColumns = withEffects
    ? `, (SELECT json_agg(l) FROM locked l) AS suppressions,
       (SELECT json_agg(json_build_array(b.key, b.email, b.event_at)) FROM bounces b) AS bounces`
    : "";
  return `WITH stored AS (
       INSERT INTO ${S}.inbox (${INBOX_COLUMNS})
       SELECT $1, w.key, w.type, w.email, w.message_id, w.event_at,
              convert_from(substring($8::bytea FROM w.off + 1 FOR w.off_end - w.off), 'UTF8'), $2,
              CASE WHEN w.state = 'done' THEN 'done' ELSE 'queued' END, 0,
              CASE WHEN w.state = 'done' THEN $2::bigint END, CASE WHEN w.state = 'done' THEN NULL ELSE $2::bigint END
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $9::text[], $10::int[], $11::int[])
            WITH ORDINALITY AS w(key, type, email, message_id, event_at, state, off, off_end, ord)
       ${probe ? `WHERE NOT EXISTS (SELECT 1 FROM ${S}.inbox x WHERE x.account = $1 AND x.key = w.key OFFSET 0)` : ""}
       ORDER BY w.ord
       RETURNING seq, key, type, state
     ), queued AS (
       INSERT INTO ${S}.inbox_pending (seq, account, type, next_attempt_at, attempts)
       SELECT seq, $1, type, $2, 0 FROM stored WHERE state = 'queued'
     )${reads}
     SELECT count(*)::int AS n, CASE WHEN count(*) < cardinality($3::text[]) THEN array_agg(key) END AS keys${readColumns}
     FROM stored`;
}

/** What the batch's statement read for the effects (see insertStatement). */
interface Read {
  suppressions: SuppressionRow[];
  bounces: [key: string, email: string, eventAt: number][];
}

/**
 * Inserts the first occurrence of each key; resolves with the keys that were new and, when events
 * have effects, what their effects read (see insertStatement).
 */
async function insertEvents(
  client: PoolClient,
  S: string,
  account: string,
  receivedAt: number,
  events: readonly NormalizedInboxEvent[],
  probe: boolean,
): Promise<{ inserted: Set<string>; read: Read }> {
  const seen = new Set<string>();
  const unique = events.filter((e) => !seen.has(e.key) && seen.add(e.key));
  const raw = packTexts(unique.map((e) => e.rawUtf8 ?? e.raw));
  const reads = effectReads(unique, receivedAt);
  const withEffects = reads.keys.length > 0;
  const windows = [...reads.windows.entries()];
  const statement = insertStatement(S, withEffects, probe);
  const { rows } = await q<{
    n: number;
    keys: string[] | null;
    suppressions?: SuppressionRow[] | null;
    bounces?: Read["bounces"] | null;
  }>(client, statement, [
    account,
    receivedAt,
    textArray(unique.map((e) => e.key)),
    textArray(unique.map((e) => e.type)),
    textArray(unique.map((e) => e.email)),
    textArray(unique.map((e) => e.messageId)),
    int8Array(unique.map((e) => e.eventAt)),
    raw.bytes,
    textArray(unique.map((e) => e.state)),
    int4Array(raw.starts),
    int4Array(raw.ends),
    ...(withEffects
      ? [
          textArray(reads.keys),
          textArray(reads.emails),
          textArray(windows.map(([email]) => email)),
          int8Array(windows.map(([, w]) => w.lo)),
          int8Array(windows.map(([, w]) => w.hi)),
        ]
      : []),
  ]);
  const row = rows[0] ?? { n: 0, keys: null };
  return {
    inserted: row.n === unique.length ? seen : new Set(row.keys ?? []),
    read: { suppressions: row.suppressions ?? [], bounces: row.bounces ?? [] },
  };
}

/**
 * The soft bounces each address's effects may count, by address: those stored before the batch (as
 * read) and the batch's new ones. Counted in applyEffects as the SQLite adapter counts them, i.e.
 * without events later in this batch.
 */
function softBounces(
  read: Read["bounces"],
  newEvents: readonly NormalizedInboxEvent[],
): Map<string, { key: string; eventAt: number }[]> {
  const bounces = new Map<string, { key: string; eventAt: number }[]>();
  const add = (email: string, key: string, eventAt: number) => {
    const l = bounces.get(email) ?? [];
    l.push({ key, eventAt });
    bounces.set(email, l);
  };
  for (const [key, email, eventAt] of read) add(email, key, eventAt);
  for (const e of newEvents) {
    if (e.type === "soft_bounce" && e.email !== null && e.eventAt !== null) add(e.email, e.key, e.eventAt);
  }
  return bounces;
}

/**
 * Applies the effects of the new events (in batch order) to the suppressions read under lock; resolves
 * with them and the suppression writes as SQL (locks.writeSql), sent with the COMMIT.
 */
function applyEffects(
  locks: SuppressionLocks,
  batch: { account: string; receivedAt: number },
  newEvents: readonly NormalizedInboxEvent[],
  read: Read,
): { applied: AppliedEffect[]; writes: string } {
  const { account, receivedAt } = batch;
  const withEffects = newEvents.filter((e) => e.effects.length > 0);
  const applied: AppliedEffect[] = [];
  if (withEffects.length === 0) return { applied, writes: "" };
  const position = new Map(newEvents.map((e, i) => [e.key, i]));
  const loaded: LoadedSuppressions = loadedFrom(
    withEffects.flatMap((e) => e.effects.map((effect) => ({ account, email: effect.email }))),
    read.suppressions,
  );
  const bounces = softBounces(read.bounces, newEvents);
  for (const e of withEffects) {
    const index = position.get(e.key) as number;
    const target = {
      get: (email: string) => loaded.get(loadedKey(account, email))?.value,
      put: (next: Parameters<typeof stage>[1]) => stage(loaded, next),
      countSoftBounces: (email: string, after: number, until: number) =>
        (bounces.get(email) ?? []).filter(
          (b) => b.eventAt > after && b.eventAt <= until && (position.get(b.key) ?? -1) <= index,
        ).length,
    };
    applySuppressionEffects(
      target,
      { account, key: e.key, eventAt: e.eventAt, effects: e.effects },
      receivedAt,
      applied,
    );
  }
  return { applied, writes: locks.writeSql(loaded) };
}

/** One ingest transaction (run again on fresh reads when it loses a race to another instance). */
export async function ingest(
  pool: Pool,
  S: string,
  locks: SuppressionLocks,
  batch: { account: string; receivedAt: number; events: readonly NormalizedInboxEvent[] },
): Promise<IngestResult> {
  const { account, receivedAt, events } = batch;
  if (events.length === 0) return { inserted: [], duplicates: [], effects: [] };
  // The first attempt inserts every key (no probe: see insertStatement); if one is stored already,
  // the transaction runs again at once with the probe, and so does any later attempt. A batch without
  // effects is that one statement alone, committed on its own (no BEGIN and COMMIT round trips).
  let probe = false;
  const single = events.every((e) => e.effects.length === 0);
  return txWithLast(
    pool,
    async (client) => {
      let stored: Awaited<ReturnType<typeof insertEvents>>;
      try {
        stored = await insertEvents(client, S, account, receivedAt, events, probe);
      } catch (error) {
        if (probe || (error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
        probe = true;
        throw new RunAgain("An event key was stored already");
      }
      const { inserted: insertedKeys, read } = stored;
      const result: IngestResult = { inserted: [], duplicates: [], effects: [] };
      const newEvents: NormalizedInboxEvent[] = [];
      for (const e of events) {
        // The first occurrence of a key in the batch is the one stored; later ones are duplicates.
        if (insertedKeys.delete(e.key)) {
          newEvents.push(e);
          result.inserted.push(e.key);
        } else {
          result.duplicates.push(e.key);
        }
      }
      const { applied, writes } = applyEffects(locks, batch, newEvents, read);
      result.effects = applied;
      return { result, last: writes };
    },
    { single, begin: BEGIN_GENERIC },
  );
}
