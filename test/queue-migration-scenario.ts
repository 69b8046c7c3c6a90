/**
 * The events a store wrote before its dispatch queue moved out of the `inbox` rows (PostgreSQL
 * migrations 4–5, SQLite migration 5), and what must hold once it is migrated: every event reads back
 * as written, and the dispatcher runs exactly the pending ones, once, as before. Shared by
 * postgres-queue-migration.test.ts and sqlite-queue-migration.test.ts.
 */
import type { Store } from "@mandrill-kit/core";
import { manualClock } from "@mandrill-kit/core/testing";
import { createDispatcher, type Dispatcher } from "@mandrill-kit/webhooks";
import { eventFixtures } from "@mandrill-kit/webhooks/testing";
import { expect } from "vitest";

export const T0 = Date.UTC(2026, 0, 1);
export const SECONDS = Math.floor(T0 / 1000);

/** An event row as the code before the queue's migration stored it (state, due time and lease in the row). */
export interface OldRow {
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
export const OLD_ROWS: OldRow[] = OLD.map(
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

/** An old row's raw event JSON and its values as the `inbox` columns of migration 1 take them (account 'acme'). */
export function oldInboxValues(r: OldRow, i: number): unknown[] {
  const fixture = r.type === "hard_bounce" ? eventFixtures.hard_bounce : eventFixtures[r.type];
  const raw = JSON.stringify(fixture({ id: `msg-${r.key}`, ts: SECONDS - 100 + i }));
  return [
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
  ];
}

/** The columns of {@link oldInboxValues}, in order. */
export const OLD_INBOX_COLUMNS =
  "key, type, message_id, event_at, raw, received_at, state, attempts, next_attempt_at, lease_until, last_error, completed_at";

/**
 * Checks a store opened on the migrated OLD_ROWS (account 'acme'): reads, then dispatch through the
 * queue until every pending event ran once, then a replay. `onDispatcher` gets the dispatcher it
 * creates, for the caller to close.
 */
export async function expectMigratedQueue(
  store: Store,
  onDispatcher: (d: Dispatcher) => void,
): Promise<void> {
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
  const dispatcher = createDispatcher({ store, clock, retryBaseMs: 1000, retryMaxMs: 1000 });
  onDispatcher(dispatcher);
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

  // So do a done event stored before the migration and one completed through the queue after it;
  // a failure with a retry queues the latter again, a failure without one dead-letters it.
  ran.length = 0;
  expect(await dispatcher.replay("acme", "done-send")).toBe(true);
  expect(await dispatcher.replay("acme", "p-send")).toBe(true);
  await dispatcher.runDue();
  expect(ran.sort()).toEqual(["done-send", "p-send"]);
  for (const key of ["done-send", "p-send"])
    expect(await store.inbox.get("acme", key), key).toMatchObject({ state: "done", attempts: 1 });
  await store.inbox.fail("acme", "p-send", { error: "Error: later", retryAt: clock.now() + 1000 });
  expect(await store.inbox.get("acme", "p-send")).toMatchObject({
    state: "pending",
    attempts: 1,
    nextAttemptAt: clock.now() + 1000,
    lastError: "Error: later",
  });
  await store.inbox.fail("acme", "p-send", { error: "Error: gave up", retryAt: null, now: clock.now() });
  expect(await store.inbox.get("acme", "p-send")).toMatchObject({
    state: "dead",
    attempts: 1,
    nextAttemptAt: null,
    leaseUntil: null,
    completedAt: clock.now(),
  });
  expect(await store.inbox.backlog?.()).toEqual({ pending: 0, dead: 2, oldestDueAt: null });
}
