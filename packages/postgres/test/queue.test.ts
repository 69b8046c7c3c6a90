/**
 * The dispatch queue of migration 4 (events in `inbox`, their dispatch state in `inbox_pending` /
 * `inbox_done`): every inbox operation, in random sequences, leaves each event exactly as the memory
 * store (the reference implementation) does; the event row itself is not rewritten on the way from
 * ingest to done; and emptying `inbox` empties the queue with it.
 */
import {
  createMemoryStore,
  type InboxRecord,
  type InboxRepository,
  isMandrillKitError,
  type Store,
} from "@mandrill-kit/core";
import { openPostgresStore, type PostgresStore } from "@mandrill-kit/postgres";
import { afterAll, describe, expect, it } from "vitest";
import { available, databaseUrl, dropSchema, freshSchema, random, sql } from "./database.js";

const T0 = Date.UTC(2026, 0, 1);
const KEYS = ["a", "b", "c", "d", "e", "f"];
const TYPES = ["send", "open", "hard_bounce", "unknown:x"];

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

describe.skipIf(!available)("PostgreSQL dispatch queue", () => {
  const schemas: string[] = [];
  const stores: PostgresStore[] = [];
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    for (const schema of schemas) await dropSchema(schema);
  });
  async function open(): Promise<PostgresStore> {
    const schema = freshSchema("queue");
    schemas.push(schema);
    const store = await openPostgresStore({ connectionString: databaseUrl, schema, maxConnections: 2 });
    stores.push(store);
    return store;
  }

  it("matches the memory store through random sequences of every inbox operation", async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const pg = await open();
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
          ["fail-retry", (inbox) => inbox.fail("acme", key, { error: `e${step}`, retryAt: now + 700, now })],
          ["fail-dead", (inbox) => inbox.fail("acme", key, { error: `dead${step}`, retryAt: null, now })],
          ["replay", (inbox) => inbox.replay("acme", key, { now })],
        ];
        const [name, op] = pick(ops);
        log.push(
          `${name}(${name === "ingest" || name === "completeMany" ? keys.join("") : key})@${now - T0}`,
        );
        const pgOutcome = await outcome(() => op(pg.inbox));
        const memoryOutcome = await outcome(() => op(memory.inbox));
        expect(pgOutcome, `seed ${seed}: ${log.join(" ")}`).toEqual(memoryOutcome);
        for (const k of KEYS) {
          expect(unnumbered(await pg.inbox.get("acme", k)), `seed ${seed}, ${k}: ${log.join(" ")}`).toEqual(
            unnumbered(await memory.inbox.get("acme", k)),
          );
        }
        expect(await pg.inbox.stats("acme")).toEqual(await memory.inbox.stats("acme"));
        expect(await pg.inbox.backlog?.()).toEqual(await memory.inbox.backlog?.());
        for (const state of ["pending", "done", "dead"] as const) {
          const listed = async (store: Store) =>
            (await store.inbox.list("acme", { state })).items.map(unnumbered);
          expect(await listed(pg)).toEqual(await listed(memory));
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
    const store = await open();
    await ingestPending(store, ["k1", "k2", "k3", "k4"]);
    const rows = () =>
      sql(`SELECT key, ctid::text AS ctid, xmin::text AS xmin FROM "${store.schema}".inbox ORDER BY key`);
    const before = (await rows()).rows;
    expect(await store.inbox.completeUnwanted?.({ wanted: ["send"], now: T0 + 1 })).toBe(2);
    const claimed = await store.inbox.claim({ now: T0 + 2 });
    expect(claimed.map((r) => r.key).sort()).toEqual(["k1", "k3"]);
    expect(await store.inbox.completeMany([{ account: "acme", key: "k1" }], { now: T0 + 3 })).toBe(1);
    await store.inbox.complete("acme", "k3", { now: T0 + 4 });
    expect((await rows()).rows).toEqual(before);
    expect(await store.inbox.stats("acme")).toMatchObject({ pending: 0, done: 4 });
    expect(await store.inbox.get("acme", "k3")).toMatchObject({
      state: "done",
      attempts: 1,
      completedAt: T0 + 4,
    });
  });

  it("empties the queue when the inbox is truncated", async () => {
    const store = await open();
    await ingestPending(store, ["k1", "k2"]);
    await store.inbox.claim({ now: T0, types: ["send"] });
    await store.inbox.completeUnwanted?.({ wanted: ["send"], now: T0 });
    await sql(`TRUNCATE "${store.schema}".inbox RESTART IDENTITY`);
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
});
