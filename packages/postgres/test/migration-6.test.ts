/**
 * Migration 6 makes (account, seq) the events' primary key in place of (seq) and the index
 * inbox_account: a schema of version 5 holding events in every dispatch state upgrades on open, keeps
 * each event as it was, and every inbox operation that finds an event by its seq still finds it.
 */
import { MIGRATIONS, openPostgresStore } from "@mandrill-kit/postgres";
import { afterAll, describe, expect, it } from "vitest";
import { available, databaseUrl, dropSchema, freshSchema, sql } from "./database.js";

const T0 = Date.UTC(2026, 0, 1);

/** A schema at version 5, as the package of that version left it (see migrate.ts). */
async function schemaAtVersion5(schema: string): Promise<void> {
  const S = `"${schema}"`;
  await sql(`CREATE SCHEMA ${S}`);
  await sql(
    `CREATE TABLE ${S}.mk_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
  );
  for (const m of MIGRATIONS.filter((m) => m.version <= 5)) {
    await sql(m.sql.replaceAll("SCHEMA.", `${S}.`));
    await sql(`INSERT INTO ${S}.mk_migrations VALUES ($1, $2, $3)`, [m.version, m.name, T0]);
  }
}

/** Stores an event as version 5 did (queued ones with their queue row); resolves with its seq. */
async function storeEvent(
  schema: string,
  account: string,
  key: string,
  state: "pending" | "done" | "completed" | "dead",
): Promise<number> {
  const S = `"${schema}"`;
  const rowState = state === "pending" || state === "completed" ? "queued" : state;
  const { rows } = await sql(
    `INSERT INTO ${S}.inbox (account, key, type, email, message_id, event_at, raw, received_at, state, attempts, last_error, completed_at, due_at)
     VALUES ($1, $2, 'send', $3, NULL, $4, $5, $4, $6, $7, $8, $9, $10) RETURNING seq`,
    [
      account,
      key,
      `${key}@example.com`,
      T0,
      `{"k":"${key}"}`,
      rowState,
      state === "dead" ? 3 : 0,
      state === "dead" ? "boom" : null,
      state === "done" || state === "dead" ? T0 + 5 : null,
      rowState === "queued" ? T0 : null,
    ],
  );
  const seq = Number(rows[0]?.seq);
  if (state === "pending") {
    await sql(
      `INSERT INTO ${S}.inbox_pending (seq, account, type, next_attempt_at, lease_until, attempts) VALUES ($1, $2, 'send', $3, NULL, 1)`,
      [seq, account, T0],
    );
  } else if (state === "completed") {
    await sql(`INSERT INTO ${S}.inbox_done (seq, attempts, completed_at) VALUES ($1, 2, $2)`, [seq, T0 + 7]);
  }
  return seq;
}

describe.skipIf(!available)("PostgreSQL migration 6: events keyed by (account, seq)", () => {
  const schema = freshSchema("mig6");
  afterAll(() => dropSchema(schema));

  it("upgrades a version-5 schema with events in every state, and every inbox operation still finds them", async () => {
    await schemaAtVersion5(schema);
    // Two accounts with interleaved seq values.
    const seq = {
      pending: await storeEvent(schema, "acme", "pending", "pending"),
      otherPending: await storeEvent(schema, "other", "pending", "pending"),
      done: await storeEvent(schema, "acme", "done", "done"),
      completed: await storeEvent(schema, "acme", "completed", "completed"),
      dead: await storeEvent(schema, "acme", "dead", "dead"),
      otherDead: await storeEvent(schema, "other", "dead", "dead"),
    };

    const store = await openPostgresStore({ connectionString: databaseUrl, schema });
    try {
      expect(await store.schemaVersion()).toBe(MIGRATIONS.length);
      const { rows: indexes } = await sql(
        `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'inbox' ORDER BY indexname`,
        [schema],
      );
      expect(indexes.map((i) => i.indexname)).toEqual([
        "inbox_account_key_key",
        "inbox_dead",
        "inbox_pkey",
        "inbox_soft_bounces",
      ]);
      expect(indexes.find((i) => i.indexname === "inbox_pkey")?.indexdef).toMatch(/\(account, seq\)$/);

      const state = async (account: string, key: string) => {
        const e = await store.inbox.get(account, key);
        return e && { seq: e.seq, state: e.state, attempts: e.attempts, completedAt: e.completedAt };
      };
      expect(await state("acme", "pending")).toEqual({
        seq: seq.pending,
        state: "pending",
        attempts: 1,
        completedAt: null,
      });
      expect(await state("acme", "done")).toEqual({
        seq: seq.done,
        state: "done",
        attempts: 0,
        completedAt: T0 + 5,
      });
      expect(await state("acme", "completed")).toEqual({
        seq: seq.completed,
        state: "done",
        attempts: 2,
        completedAt: T0 + 7,
      });
      expect(await state("acme", "dead")).toEqual({
        seq: seq.dead,
        state: "dead",
        attempts: 3,
        completedAt: T0 + 5,
      });
      expect((await store.inbox.list("acme")).items.map((e) => e.key)).toEqual([
        "dead",
        "completed",
        "done",
        "pending",
      ]);
      expect((await store.inbox.list("other")).items.map((e) => e.key)).toEqual(["dead", "pending"]);

      // Claims join the queue row to its event by (account, seq).
      const claimed = await store.inbox.claim({ now: T0 + 10, limit: 10, leaseMs: 1000 });
      expect(claimed.map((e) => [e.account, e.key, e.seq])).toEqual([
        ["acme", "pending", seq.pending],
        ["other", "pending", seq.otherPending],
      ]);
      // complete (a queued one, and a dead one set done in its row), fail, replay: each by seq + account.
      await store.inbox.complete("acme", "pending", { now: T0 + 20 });
      await store.inbox.complete("other", "dead", { now: T0 + 21 });
      await store.inbox.fail("other", "pending", { error: "no", retryAt: null, now: T0 + 22 });
      expect(await store.inbox.replay?.("acme", "dead", { now: T0 + 23 })).toBe(true);
      await store.inbox.fail("acme", "dead", { error: "again", retryAt: T0 + 99, now: T0 + 24 });
      expect(await state("acme", "pending")).toMatchObject({
        state: "done",
        attempts: 2,
        completedAt: T0 + 20,
      });
      expect(await state("other", "dead")).toMatchObject({ state: "done", completedAt: T0 + 21 });
      expect(await state("other", "pending")).toMatchObject({ state: "dead", attempts: 2 });
      expect(await store.inbox.get("acme", "dead")).toMatchObject({
        state: "pending",
        nextAttemptAt: T0 + 99,
        lastError: "again",
      });
      // The other account's events were not touched by any of the acme ones (same seq range).
      expect(await state("acme", "done")).toEqual({
        seq: seq.done,
        state: "done",
        attempts: 0,
        completedAt: T0 + 5,
      });

      // New events continue the sequence.
      const result = await store.inbox.ingest({
        account: "acme",
        receivedAt: T0 + 30,
        events: [{ key: "new", type: "send", email: null, messageId: null, eventAt: null, raw: "{}" }],
      });
      expect(result.inserted).toEqual(["new"]);
      expect((await store.inbox.get("acme", "new"))?.seq).toBeGreaterThan(seq.otherDead);
    } finally {
      await store.close();
    }
  });
});
