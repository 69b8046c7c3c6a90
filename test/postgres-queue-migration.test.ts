/**
 * Migrations 4 and 5 of @mandrill-kit/postgres (the dispatch queue moves from the `inbox` rows to
 * `inbox_pending` / `inbox_done`, then is keyed by due time) on a database written at migration 3,
 * migrated from there or from migration 4: pending events — due, leased, waiting for a retry — are
 * dispatched exactly as before, and done and dead events stay as they were.
 */
import { manualClock } from "@mandrill-kit/core/testing";
import { MIGRATIONS, openPostgresStore, type PostgresStore } from "@mandrill-kit/postgres";
import { createDispatcher, type Dispatcher } from "@mandrill-kit/webhooks";
import { eventFixtures } from "@mandrill-kit/webhooks/testing";
import { afterAll, describe, expect, it } from "vitest";
// One probe for every PostgreSQL test: skips with a message, or fails under MK_REQUIRE_POSTGRES=1.
import { available, databaseUrl, dropSchema, freshSchema, sql } from "../packages/postgres/test/database.js";

const T0 = Date.UTC(2026, 0, 1);
const SECONDS = Math.floor(T0 / 1000);

/** An event row as migration 3's code stored it. */
interface OldRow {
  key: string;
  type: "send" | "hard_bounce" | "open";
  state: "pending" | "done" | "dead";
  attempts: number;
  nextAttemptAt: number | null;
  leaseUntil: number | null;
  lastError: string | null;
  completedAt: number | null;
}

/** key, type, state, attempts, next attempt, lease until, last error, completed at */
type OldColumns = [
  string,
  OldRow["type"],
  OldRow["state"],
  number,
  number | null,
  number | null,
  string | null,
  number | null,
];
const OLD: OldColumns[] = [
  // Pending, due: run (send, hard_bounce) or completed unrun (open: no handler wants it).
  ["p-send", "send", "pending", 0, T0 - 5000, null, null, null],
  ["p-bounce", "hard_bounce", "pending", 0, T0 - 4000, null, null, null],
  ["p-open", "open", "pending", 0, T0 - 3000, null, null, null],
  // Pending, its lease expired (the claiming process died): due again, attempts carry on.
  ["p-expired", "send", "pending", 2, T0 - 9000, T0 - 1, null, null],
  // Pending, leased by a run still going: not before its lease ends.
  ["p-leased", "send", "pending", 1, T0 - 8000, T0 + 60_000, null, null],
  // Pending, waiting for a retry after a failure.
  ["p-retry", "hard_bounce", "pending", 1, T0 + 30_000, null, "Error: smtp down", null],
  // Done and dead: never run again (the dead one only after a replay).
  ["done-send", "send", "done", 1, null, null, null, T0 - 20_000],
  ["done-stored", "open", "done", 0, null, null, null, T0 - 30_000],
  ["dead-send", "send", "dead", 5, null, null, "Error: gave up", T0 - 10_000],
  ["dead-bounce", "hard_bounce", "dead", 5, null, null, "Error: gave up", T0 - 10_000],
];
const OLD_ROWS: OldRow[] = OLD.map(
  ([key, type, state, attempts, nextAttemptAt, leaseUntil, lastError, completedAt]) => ({
    key,
    type,
    state,
    attempts,
    nextAttemptAt,
    leaseUntil,
    lastError,
    completedAt,
  }),
);

/**
 * A schema with OLD_ROWS written as migration 3's code writes them, then migrated up to `version`
 * (3 or more) by the migrations' SQL alone, as an older release of the package would have.
 */
async function schemaAt(schema: string, version: number): Promise<void> {
  const S = `"${schema}"`;
  await sql(`CREATE SCHEMA ${S}`);
  await sql(`CREATE TABLE ${S}.mk_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at BIGINT  NOT NULL
  )`);
  const apply = async (from: number, to: number) => {
    for (const m of MIGRATIONS.filter((m) => m.version >= from && m.version <= to)) {
      await sql(m.sql.replaceAll("SCHEMA.", `${S}.`));
      await sql(`INSERT INTO ${S}.mk_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [
        m.version,
        m.name,
        T0 - 100_000,
      ]);
    }
  };
  await apply(1, 3);
  for (const [i, r] of OLD_ROWS.entries()) {
    const fixture = r.type === "hard_bounce" ? eventFixtures.hard_bounce : eventFixtures[r.type];
    const raw = JSON.stringify(fixture({ id: `msg-${r.key}`, ts: SECONDS - 100 + i }));
    await sql(
      `INSERT INTO ${S}.inbox (account, key, type, email, message_id, event_at, raw, received_at, state, attempts,
                               next_attempt_at, lease_until, last_error, completed_at)
       VALUES ('acme', $1, $2, 'recipient@example.com', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        r.key,
        r.type,
        `msg-${r.key}`,
        (SECONDS - 100 + i) * 1000,
        raw,
        T0 - 50_000,
        r.state,
        r.attempts,
        r.nextAttemptAt,
        r.leaseUntil,
        r.lastError,
        r.completedAt,
      ],
    );
  }
  await apply(4, version);
}

describe.skipIf(!available).each([3, 4])("PostgreSQL dispatch queue, migrated from migration %i", (from) => {
  const schema = freshSchema(`queue_migration_${from}`);
  let store: PostgresStore | undefined;
  let dispatcher: Dispatcher | undefined;
  afterAll(async () => {
    await dispatcher?.close();
    await store?.close();
    await dropSchema(schema);
  });

  it("keeps pending, done and dead events; the dispatcher then runs exactly the pending ones", async () => {
    await schemaAt(schema, from);
    store = await openPostgresStore({ connectionString: databaseUrl, schema });
    expect(await store.schemaVersion()).toBe(MIGRATIONS.at(-1)?.version);
    expect(MIGRATIONS.at(-1)?.version).toBeGreaterThanOrEqual(5);

    // Every event reads back as it was written.
    for (const r of OLD_ROWS) {
      expect(await store.inbox.get("acme", r.key), r.key).toMatchObject({
        state: r.state,
        attempts: r.attempts,
        nextAttemptAt: r.nextAttemptAt,
        leaseUntil: r.leaseUntil,
        lastError: r.lastError,
        completedAt: r.completedAt,
      });
    }
    expect(await store.inbox.backlog?.()).toEqual({ pending: 6, dead: 2, oldestDueAt: T0 - 9000 });
    expect(await store.inbox.stats("acme")).toMatchObject({ total: 10, pending: 6, done: 2, dead: 2 });

    const clock = manualClock(T0);
    const ran: string[] = [];
    dispatcher = createDispatcher({ store, clock, retryBaseMs: 1000, retryMaxMs: 1000 });
    dispatcher.on(["send", "hard_bounce"], (_event, context) => {
      ran.push(context.eventKey);
    });

    // Due now: the due and expired-lease ones run; the unwanted open is completed without running.
    await dispatcher.runDue();
    expect(ran.sort()).toEqual(["p-bounce", "p-expired", "p-send"]);
    expect(await store.inbox.get("acme", "p-expired")).toMatchObject({ state: "done", attempts: 3 });
    expect(await store.inbox.get("acme", "p-open")).toMatchObject({
      state: "done",
      attempts: 0,
      completedAt: T0,
    });
    expect(await store.inbox.get("acme", "p-send")).toMatchObject({
      state: "done",
      attempts: 1,
      nextAttemptAt: null,
      leaseUntil: null,
      completedAt: T0,
    });
    expect(await store.inbox.get("acme", "p-leased")).toMatchObject({ state: "pending", attempts: 1 });
    expect(await store.inbox.get("acme", "p-retry")).toMatchObject({ state: "pending", attempts: 1 });

    // The lease and the retry time pass: those two run, once each.
    clock.advance(60_001);
    ran.length = 0;
    await dispatcher.runDue();
    expect(ran.sort()).toEqual(["p-leased", "p-retry"]);
    expect(await store.inbox.get("acme", "p-leased")).toMatchObject({ state: "done", attempts: 2 });
    expect(await store.inbox.get("acme", "p-retry")).toMatchObject({
      state: "done",
      attempts: 2,
      lastError: "Error: smtp down",
    });

    // Done and dead events were left alone.
    ran.length = 0;
    clock.advance(3_600_000);
    await dispatcher.runDue();
    expect(ran).toEqual([]);
    for (const r of OLD_ROWS.filter((r) => r.state !== "pending")) {
      expect(await store.inbox.get("acme", r.key), r.key).toMatchObject({
        state: r.state,
        attempts: r.attempts,
        completedAt: r.completedAt,
      });
    }
    expect(await store.inbox.backlog?.()).toEqual({ pending: 0, dead: 2, oldestDueAt: null });
    expect(await store.inbox.stats("acme")).toMatchObject({ total: 10, pending: 0, done: 8, dead: 2 });

    // A dead event replayed runs again.
    expect(await dispatcher.replay("acme", "dead-bounce")).toBe(true);
    await dispatcher.runDue();
    expect(ran).toEqual(["dead-bounce"]);
    expect(await store.inbox.get("acme", "dead-bounce")).toMatchObject({
      state: "done",
      attempts: 1,
      completedAt: clock.now(),
    });
  });
});
