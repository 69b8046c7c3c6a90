/**
 * `inbox.ingest` on PostgreSQL: one INSERT … SELECT for the batch (columns as binary arrays through
 * `unnest`, the raw JSON texts as one binary `bytea` sliced by byte offsets) that leaves out the keys
 * already stored and also queues the new pending events (`inbox_pending`), then the suppression
 * effects of the events that were new, on rows read under lock, in the same transaction.
 */
import type { AppliedEffect, IngestResult } from "@mandrill-kit/core";
import { applySuppressionEffects, type NormalizedInboxEvent } from "@mandrill-kit/core/adapter";
import type { Pool, PoolClient } from "pg";
import { int4Array, int8Array, textArray } from "./binary.js";
import { q, tx } from "./queries.js";
import { type LoadedSuppressions, loadedKey, type SuppressionLocks, stage } from "./suppressions.js";

const INBOX_COLUMNS =
  "account, key, type, email, message_id, event_at, raw, received_at, state, attempts, completed_at, due_at";

/**
 * The events' JSON texts as one `bytea` parameter and the byte offset of each: sent as it is (binary),
 * where a `text[]` of JSON would be escaped element by element by the driver and parsed back the same
 * way by the server, ~1 MB per batch each way.
 */
export function packTexts(texts: readonly string[]): { bytes: Buffer; offsets: number[] } {
  let total = 0;
  const lengths = texts.map((t) => {
    const n = Buffer.byteLength(t, "utf8");
    total += n;
    return n;
  });
  const bytes = Buffer.allocUnsafe(total);
  const offsets: number[] = new Array(texts.length + 1);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    offsets[i] = at;
    at += bytes.write(texts[i] as string, at, lengths[i] as number, "utf8");
  }
  offsets[texts.length] = at;
  return { bytes, offsets };
}

/**
 * The batch's insert (see insertEvents). Parameters: $1 account, $2 receivedAt, $3…$7 key, type,
 * email, message_id, event_at (binary arrays, see binary.ts), $8 the raw texts (packTexts), $9 state,
 * $10/$11 each text's start and end offsets in $8.
 *
 * Keys already stored are left out by a probe of the unique index per key (a correlated subquery,
 * kept one by OFFSET 0 so the planner cannot turn it into a scan of the table), so the rest is a
 * plain INSERT: ON CONFLICT DO NOTHING costs a speculative insertion per row (~15% of the statement's
 * server time). A key that a concurrent transaction stores first makes this INSERT fail on the unique
 * index (23505); tx() then runs the ingest again, and the probe finds the key: the same outcome.
 * Pending events are stored 'queued' with their queue row (due at receipt) in the same statement.
 * One row comes back: how many events were stored and, only when some were not (duplicates), which.
 */
function insertStatement(S: string): string {
  return `WITH stored AS (
       INSERT INTO ${S}.inbox (${INBOX_COLUMNS})
       SELECT $1, w.key, w.type, w.email, w.message_id, w.event_at,
              convert_from(substring($8::bytea FROM w.off + 1 FOR w.next - w.off), 'UTF8'), $2,
              CASE WHEN w.state = 'done' THEN 'done' ELSE 'queued' END, 0,
              CASE WHEN w.state = 'done' THEN $2::bigint END, CASE WHEN w.state = 'done' THEN NULL ELSE $2::bigint END
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $9::text[], $10::int[], $11::int[])
            WITH ORDINALITY AS w(key, type, email, message_id, event_at, state, off, next, ord)
       WHERE NOT EXISTS (SELECT 1 FROM ${S}.inbox x WHERE x.account = $1 AND x.key = w.key OFFSET 0)
       ORDER BY w.ord
       RETURNING seq, key, type, state
     ), queued AS (
       INSERT INTO ${S}.inbox_pending (seq, account, type, next_attempt_at, attempts)
       SELECT seq, $1, type, $2, 0 FROM stored WHERE state = 'queued'
     )
     SELECT count(*)::int AS n, CASE WHEN count(*) < cardinality($3::text[]) THEN array_agg(key) END AS keys
     FROM stored`;
}

/** Inserts the first occurrence of each key; returns the keys that were new. */
async function insertEvents(
  client: PoolClient,
  S: string,
  account: string,
  receivedAt: number,
  events: readonly NormalizedInboxEvent[],
): Promise<Set<string>> {
  const seen = new Set<string>();
  const unique = events.filter((e) => !seen.has(e.key) && seen.add(e.key));
  const raw = packTexts(unique.map((e) => e.raw));
  const { rows } = await q<{ n: number; keys: string[] | null }>(client, insertStatement(S), [
    account,
    receivedAt,
    textArray(unique.map((e) => e.key)),
    textArray(unique.map((e) => e.type)),
    textArray(unique.map((e) => e.email)),
    textArray(unique.map((e) => e.messageId)),
    int8Array(unique.map((e) => e.eventAt)),
    raw.bytes,
    textArray(unique.map((e) => e.state)),
    int4Array(raw.offsets.slice(0, -1)),
    int4Array(raw.offsets.slice(1)),
  ]);
  const stored = rows[0] ?? { n: 0, keys: null };
  return stored.n === unique.length ? seen : new Set(stored.keys ?? []);
}

/**
 * The stored soft bounces each address's effects may count: one query over every address's widest
 * window. Counted below as the SQLite adapter counts them, i.e. without events later in this batch.
 */
async function softBounces(
  client: PoolClient,
  S: string,
  account: string,
  receivedAt: number,
  events: readonly NormalizedInboxEvent[],
): Promise<Map<string, { key: string; eventAt: number }[]>> {
  const windows = new Map<string, { lo: number; hi: number }>();
  for (const e of events) {
    const at = e.eventAt ?? receivedAt;
    for (const effect of e.effects) {
      if (effect.op !== "soft-bounce") continue;
      const w = windows.get(effect.email);
      const lo = at - effect.windowMs;
      windows.set(
        effect.email,
        w === undefined ? { lo, hi: at } : { lo: Math.min(w.lo, lo), hi: Math.max(w.hi, at) },
      );
    }
  }
  const bounces = new Map<string, { key: string; eventAt: number }[]>();
  if (windows.size === 0) return bounces;
  const list = [...windows.entries()];
  const found = await q<{ key: string; email: string; event_at: number }>(
    client,
    `SELECT i.key, i.email, i.event_at FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS w(email, lo, hi)
     JOIN ${S}.inbox i ON i.account = $1 AND i.type = 'soft_bounce' AND i.email = w.email
       AND i.event_at > w.lo AND i.event_at <= w.hi`,
    [account, list.map(([email]) => email), list.map(([, w]) => w.lo), list.map(([, w]) => w.hi)],
  );
  for (const r of found.rows) {
    const l = bounces.get(r.email) ?? [];
    l.push({ key: r.key, eventAt: r.event_at });
    bounces.set(r.email, l);
  }
  return bounces;
}

/** Applies the effects of the new events (in batch order) to the suppressions loaded under lock. */
async function applyEffects(
  client: PoolClient,
  S: string,
  locks: SuppressionLocks,
  account: string,
  receivedAt: number,
  newEvents: readonly NormalizedInboxEvent[],
): Promise<AppliedEffect[]> {
  const withEffects = newEvents.filter((e) => e.effects.length > 0);
  const applied: AppliedEffect[] = [];
  if (withEffects.length === 0) return applied;
  const position = new Map(newEvents.map((e, i) => [e.key, i]));
  const loaded: LoadedSuppressions = await locks.load(
    client,
    withEffects.flatMap((e) => e.effects.map((effect) => ({ account, email: effect.email }))),
  );
  const bounces = await softBounces(client, S, account, receivedAt, withEffects);
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
  await locks.write(client, loaded);
  return applied;
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
  return tx(pool, async (client) => {
    const insertedKeys = await insertEvents(client, S, account, receivedAt, events);
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
    result.effects = await applyEffects(client, S, locks, account, receivedAt, newEvents);
    return result;
  });
}
