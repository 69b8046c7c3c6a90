/**
 * The dispatch queue of the SQL stores (events in `inbox`, their dispatch state in `inbox_pending` /
 * `inbox_done`: PostgreSQL migration 4, SQLite migration 5), run by each store's queue.test.ts: every
 * inbox operation, in random sequences, leaves each event exactly as the memory store (the reference
 * implementation) does; the event row itself is not rewritten on the way from ingest to done; and
 * emptying `inbox` empties the queue with it.
 */
import {
  createMemoryStore,
  type InboxRecord,
  type InboxRepository,
  isMandrillKitError,
  type Store,
} from "@mandrill-kit/core";
import { describe, expect, it } from "vitest";
import { random } from "./seeded-random.js";

const T0 = Date.UTC(2026, 0, 1);
const KEYS = ["a", "b", "c", "d", "e", "f"];
const TYPES = ["send", "open", "hard_bounce", "unknown:x"];

/** A store under test, and what only its own SQL can see. */
export interface QueueTarget<S extends Store> {
  /** A new, empty store (closed by the caller's afterAll). */
  open(): Promise<S>;
  /** Every event row with what changes when the row is rewritten, in key order. */
  eventRows(store: S): Promise<unknown[]>;
  /** Deletes every event, sequence numbers starting again (a retention job, a TRUNCATE). */
  emptyInbox(store: S): Promise<void>;
}

/**
 * A record without its sequence number: PostgreSQL's identity also advances in transactions that
 * were run again or rolled back, the memory store's does not, so only the order is comparable.
 */
function unnumbered(record: InboxRecord | undefined): Omit<InboxRecord, "seq"> | undefined {
  if (record === undefined) return undefined;
  const { seq: _seq, ...rest } = record;
  return rest;
}

/** The outcome of one call, comparable across stores: its value, or the code it failed with. */
async function outcome(call: () => Promise<unknown>): Promise<unknown> {
  try {
    return { value: await call() };
  } catch (error) {
    if (isMandrillKitError(error)) return { error: error.code };
    throw error;
  }
}

export function dispatchQueueSuite<S extends Store>(
  name: string,
  target: QueueTarget<S>,
  skip = false,
): void {
  describe.skipIf(skip)(name, () => {
    it("matches the memory store through random sequences of every inbox operation", async () => {
      for (let seed = 1; seed <= 12; seed++) {
        const store = await target.open();
        const memory: Store = createMemoryStore();
        const rnd = random(seed);
        const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
        const some = <T>(list: readonly T[]): T[] => list.filter(() => rnd() < 0.4);
        let now = T0;
        const log: string[] = [];
        for (let step = 0; step < 60; step++) {
          now += Math.floor(rnd() * 1500);
          const key = pick(KEYS);
          // Every argument is drawn before the call, so both stores get the same one.
          const keys = some(KEYS);
          const limit = 1 + Math.floor(rnd() * 3);
          const type = pick(TYPES);
          const typed = rnd() < 0.5;
          const done = keys.map(() => rnd() < 0.2);
          const ops: [string, (inbox: InboxRepository) => Promise<unknown>][] = [
            [
              "ingest",
              (inbox) =>
                inbox.ingest({
                  account: "acme",
                  receivedAt: now,
                  events: keys.map((k, i) => ({
                    key: k,
                    type: TYPES[k.charCodeAt(0) % TYPES.length] as string,
                    email: null,
                    messageId: null,
                    eventAt: null,
                    raw: `{"k":"${k}"}`,
                    state: done[i] ? ("done" as const) : ("pending" as const),
                  })),
                }),
            ],
            [
              "claim",
              async (inbox) =>
                (
                  await inbox.claim({
                    limit,
                    leaseMs: 1000,
                    now,
                    ...(typed ? { types: [type, "unknown"] } : {}),
                  })
                ).map((r) => r.key),
            ],
            ["complete", (inbox) => inbox.complete("acme", key, { now })],
            [
              "completeMany",
              (inbox) =>
                inbox.completeMany(
                  keys.map((k) => ({ account: "acme", key: k })),
                  { now },
                ),
            ],
            ["completeUnwanted", async (inbox) => inbox.completeUnwanted?.({ wanted: [type], limit, now })],
            [
              "fail-retry",
              (inbox) => inbox.fail("acme", key, { error: `e${step}`, retryAt: now + 700, now }),
            ],
            ["fail-dead", (inbox) => inbox.fail("acme", key, { error: `dead${step}`, retryAt: null, now })],
            ["replay", (inbox) => inbox.replay("acme", key, { now })],
          ];
          const [name, op] = pick(ops);
          log.push(
            `${name}(${name === "ingest" || name === "completeMany" ? keys.join("") : key})@${now - T0}`,
          );
          const storeOutcome = await outcome(() => op(store.inbox));
          const memoryOutcome = await outcome(() => op(memory.inbox));
          expect(storeOutcome, `seed ${seed}: ${log.join(" ")}`).toEqual(memoryOutcome);
          for (const k of KEYS) {
            expect(
              unnumbered(await store.inbox.get("acme", k)),
              `seed ${seed}, ${k}: ${log.join(" ")}`,
            ).toEqual(unnumbered(await memory.inbox.get("acme", k)));
          }
          expect(await store.inbox.stats("acme")).toEqual(await memory.inbox.stats("acme"));
          expect(await store.inbox.backlog?.()).toEqual(await memory.inbox.backlog?.());
          for (const state of ["pending", "done", "dead"] as const) {
            const listed = async (store: Store) =>
              (await store.inbox.list("acme", { state })).items.map(unnumbered);
            expect(await listed(store)).toEqual(await listed(memory));
          }
        }
      }
    });

    /** Pending events of `n` keys and types, ingested at T0. */
    async function ingestPending(store: Store, keys: string[]): Promise<void> {
      await store.inbox.ingest({
        account: "acme",
        receivedAt: T0,
        events: keys.map((key, i) => ({
          key,
          type: i % 2 === 0 ? "send" : "open",
          email: null,
          messageId: null,
          eventAt: null,
          raw: `{"event":"send","k":"${key}"}`,
        })),
      });
    }

    it("writes an event row once: claims and completions touch only the queue", async () => {
      const store = await target.open();
      await ingestPending(store, ["k1", "k2", "k3", "k4"]);
      const before = await target.eventRows(store);
      expect(await store.inbox.completeUnwanted?.({ wanted: ["send"], now: T0 + 1 })).toBe(2);
      const claimed = await store.inbox.claim({ now: T0 + 2 });
      expect(claimed.map((r) => r.key).sort()).toEqual(["k1", "k3"]);
      expect(await store.inbox.completeMany([{ account: "acme", key: "k1" }], { now: T0 + 3 })).toBe(1);
      await store.inbox.complete("acme", "k3", { now: T0 + 4 });
      expect(await target.eventRows(store)).toEqual(before);
      expect(await store.inbox.stats("acme")).toMatchObject({ pending: 0, done: 4 });
      expect(await store.inbox.get("acme", "k3")).toMatchObject({
        state: "done",
        attempts: 1,
        completedAt: T0 + 4,
      });
    });

    it("empties the queue with the inbox", async () => {
      const store = await target.open();
      await ingestPending(store, ["k1", "k2"]);
      await store.inbox.claim({ now: T0, types: ["send"] });
      await store.inbox.completeUnwanted?.({ wanted: ["send"], now: T0 });
      await target.emptyInbox(store);
      expect(await store.inbox.backlog?.()).toEqual({ pending: 0, dead: 0, oldestDueAt: null });
      // The new events reuse the sequence numbers: nothing of the old queue applies to them.
      await ingestPending(store, ["n1", "n2"]);
      expect(await store.inbox.get("acme", "n1")).toMatchObject({
        seq: 1,
        state: "pending",
        attempts: 0,
        leaseUntil: null,
      });
      expect(await store.inbox.get("acme", "n2")).toMatchObject({
        seq: 2,
        state: "pending",
        completedAt: null,
      });
      expect((await store.inbox.claim({ now: T0 })).map((r) => r.key)).toEqual(["n1", "n2"]);
    });

    it("pages an account's pending events among many done ones, newest first, by type too", async () => {
      const store = await target.open();
      await seedPendingAmongDone(store, { done: 1_000 });
      const keys = async (query: Parameters<InboxRepository["list"]>[1]) => {
        const page = await store.inbox.list("acme", query);
        return { keys: page.items.map((r) => `${r.key}:${r.state}`), next: page.next };
      };
      const first = await keys({ state: "pending", limit: 2 });
      expect(first.keys).toEqual(["p4:pending", "p3:pending"]);
      const second = await keys({ state: "pending", limit: 2, after: first.next ?? "" });
      expect(second).toEqual({ keys: ["p1:pending"], next: null });
      // p1 failed and waits for its retry: still pending; p0 is done and p2 dead.
      expect((await keys({ state: "pending", type: "open" })).keys).toEqual(["p3:pending", "p1:pending"]);
      expect((await keys({ state: "pending", type: "click" })).keys).toEqual([]);
      expect((await store.inbox.list("other", { state: "pending" })).items.map((r) => r.key)).toEqual(["o1"]);
      expect((await keys({ state: "done", limit: 1 })).keys).toEqual(["d999:done"]);
      expect((await keys({ state: "dead" })).keys).toEqual(["p2:dead"]);
    });
  });
}

/**
 * Account "acme": pending events p0…p4 stored first (then p0 completed, p1 failed to be retried
 * later, p2 dead-lettered), then `done` events stored done (d0…), and `otherPending` pending events
 * of account "other" (o1…): listing
 * acme's pending events by walking its events newest first would read every done one.
 */
export async function seedPendingAmongDone(
  store: Store,
  { done, otherPending = 1 }: { done: number; otherPending?: number },
): Promise<void> {
  const event = (key: string, type: string, state: "pending" | "done") => ({
    key,
    type,
    email: null,
    messageId: null,
    eventAt: null,
    raw: `{"k":"${key}"}`,
    state,
  });
  await store.inbox.ingest({
    account: "acme",
    receivedAt: T0,
    events: ["send", "open", "send", "open", "send"].map((type, i) => event(`p${i}`, type, "pending")),
  });
  /** `n` events of `account`, made by `make(i)`, ingested 500 per batch. */
  const ingestMany = async (
    account: string,
    receivedAt: number,
    n: number,
    make: (i: number) => ReturnType<typeof event>,
  ) => {
    for (let from = 0; from < n; from += 500) {
      const events = Array.from({ length: Math.min(500, n - from) }, (_, i) => make(from + i));
      await store.inbox.ingest({ account, receivedAt, events });
    }
  };
  await ingestMany("other", T0, otherPending, (i) => event(`o${i + 1}`, "send", "pending"));
  expect((await store.inbox.claim({ now: T0, limit: 1, account: "acme" })).map((r) => r.key)).toEqual(["p0"]);
  await store.inbox.complete("acme", "p0", { now: T0 });
  expect((await store.inbox.claim({ now: T0, limit: 2, account: "acme" })).map((r) => r.key)).toEqual([
    "p1",
    "p2",
  ]);
  await store.inbox.fail("acme", "p1", { error: "retry", retryAt: T0 + 60_000, now: T0 });
  await store.inbox.fail("acme", "p2", { error: "gave up", retryAt: null, now: T0 });
  await ingestMany("acme", T0 + 1, done, (i) => event(`d${i}`, "open", "done"));
}
