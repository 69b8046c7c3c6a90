import type { Store } from "../../store.js";
import {
  event,
  rejectionChecker,
  type StoreContractApi,
  type StoreContractOptions,
  storePerTest,
  T0,
} from "./helpers.js";

/** `inbox` processing: claims and leases, complete/fail/replay, lists, stats and quarantine. */
export function inboxProcessingContract(api: StoreContractApi, options: StoreContractOptions): void {
  api.describe("inbox", () => {
    const store = storePerTest(api, options);
    claimingContract(api, store);
    typeContract(api, store);
    outcomeContract(api, store);
  });
}

/** Claims of some types only, and the set-based completion of the others (`completeUnwanted`). */
function typeContract(api: StoreContractApi, store: Store): void {
  const { test, expect } = api;
  const rejectsWith = rejectionChecker(api.expect);
  test("claims only the types asked for; unknown also takes unknown:<name>", async () => {
    await store.inbox.ingest({
      account: "acme",
      receivedAt: T0,
      events: [
        event("s1"),
        event("h1", { type: "hard_bounce" }),
        event("u1", { type: "unknown:new_thing" }),
        event("o1", { type: "open" }),
      ],
    });
    const claimed = await store.inbox.claim({ types: ["hard_bounce", "unknown"], now: T0 });
    expect(claimed.map((r) => r.key)).toEqual(["h1", "u1"]);
    expect((await store.inbox.claim({ types: ["open"], now: T0 })).map((r) => r.key)).toEqual(["o1"]);
    expect((await store.inbox.claim({ now: T0 })).map((r) => r.key)).toEqual(["s1"]);
    await rejectsWith(store.inbox.claim({ types: [] }), "ERR_MK_VALIDATION_FAILED");
  });

  test("completes, set-based, the due events of types not wanted, and leaves the rest", async () => {
    const { completeUnwanted } = store.inbox;
    if (completeUnwanted === undefined) return; // optional: a store without it is still a store
    await store.inbox.ingest({
      account: "acme",
      receivedAt: T0,
      events: [
        event("w1", { type: "hard_bounce" }),
        event("n1"),
        event("n2", { type: "open" }),
        event("leased"),
        event("later"),
        event("u1", { type: "unknown:x" }),
      ],
    });
    await store.inbox.ingest({ account: "other", receivedAt: T0, events: [event("o1")] });
    // One unwanted event is leased by a claim, one waits for a retry: neither is taken.
    await store.inbox.claim({ types: ["send"], limit: 2, now: T0 });
    await store.inbox.fail("acme", "n1", { error: "x", retryAt: T0 + 10_000, now: T0 });
    await store.inbox.fail("acme", "later", { error: "x", retryAt: T0 + 10_000, now: T0 });
    const inbox = store.inbox;
    const call = (o: Parameters<typeof completeUnwanted>[0]) => completeUnwanted.call(inbox, o);
    expect(await call({ wanted: ["hard_bounce", "unknown"], account: "acme", now: T0 + 1 })).toBe(1);
    expect((await store.inbox.get("acme", "n2"))?.state).toBe("done");
    expect(await store.inbox.get("acme", "n2")).toMatchObject({ completedAt: T0 + 1, nextAttemptAt: null });
    for (const key of ["w1", "n1", "leased", "later", "u1"])
      expect((await store.inbox.get("acme", key))?.state).toBe("pending");
    expect((await store.inbox.get("other", "o1"))?.state).toBe("pending");
    // Every account, oldest first, in slices of `limit`: u1 (no longer wanted), then o1, then none.
    expect(await call({ wanted: ["hard_bounce"], limit: 1, now: T0 + 2 })).toBe(1);
    expect((await store.inbox.get("acme", "u1"))?.state).toBe("done");
    expect((await store.inbox.get("other", "o1"))?.state).toBe("pending");
    expect(await call({ wanted: ["hard_bounce"], limit: 1, now: T0 + 2 })).toBe(1);
    expect(await call({ wanted: ["hard_bounce"], now: T0 + 2 })).toBe(0);
    expect((await store.inbox.claim({ types: ["hard_bounce"], now: T0 + 3 })).map((r) => r.key)).toEqual([
      "w1",
    ]);
    await rejectsWith(call({ wanted: [] }), "ERR_MK_VALIDATION_FAILED");
    await rejectsWith(call({ wanted: ["send"], limit: 0 }), "ERR_MK_VALIDATION_FAILED");
  });
}

/** Claims and leases: due events once, never twice at once, in arrival order, per account. */
function claimingContract(api: StoreContractApi, store: Store): void {
  const { test, expect } = api;
  const rejectsWith = rejectionChecker(api.expect);
  test("claims due events once while leased, in arrival order", async () => {
    await store.inbox.ingest({
      account: "acme",
      receivedAt: T0,
      events: [event("a"), event("b"), event("c")],
    });
    const first = await store.inbox.claim({ limit: 2, leaseMs: 1000, now: T0 });
    expect(first.map((r) => r.key)).toEqual(["a", "b"]);
    expect(first.every((r) => r.attempts === 1 && r.leaseUntil === T0 + 1000)).toBe(true);
    const second = await store.inbox.claim({ limit: 10, leaseMs: 1000, now: T0 + 1 });
    expect(second.map((r) => r.key)).toEqual(["c"]);
    expect(await store.inbox.claim({ limit: 10, now: T0 + 2 })).toEqual([]);
    const afterLease = await store.inbox.claim({ limit: 10, leaseMs: 1000, now: T0 + 1000 });
    expect(afterLease.map((r) => r.key)).toEqual(["a", "b"]);
    expect(afterLease.every((r) => r.attempts === 2)).toBe(true);
  });

  test("never hands the same event to two concurrent claims", async () => {
    await store.inbox.ingest({
      account: "acme",
      receivedAt: T0,
      events: Array.from({ length: 40 }, (_, i) => event(`e${i}`)),
    });
    const claims = await Promise.all(
      Array.from({ length: 8 }, () => store.inbox.claim({ limit: 10, now: T0 })),
    );
    const keys = claims.flat().map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(40);
  });

  test("refuses claim options outside their ranges", async () => {
    await rejectsWith(store.inbox.claim({ limit: 0 }), "ERR_MK_VALIDATION_FAILED");
    await rejectsWith(store.inbox.claim({ limit: 1001 }), "ERR_MK_VALIDATION_FAILED");
    await rejectsWith(store.inbox.claim({ leaseMs: -5 }), "ERR_MK_VALIDATION_FAILED");
  });

  test("claims only one account's events when asked", async () => {
    await store.inbox.ingest({ account: "a", receivedAt: T0, events: [event("x")] });
    await store.inbox.ingest({ account: "b", receivedAt: T0, events: [event("y")] });
    expect((await store.inbox.claim({ account: "b", now: T0 })).map((r) => r.account)).toEqual(["b"]);
  });
}

/** Outcomes (complete, fail, dead-letter, replay), lists, stats and quarantine. */
function outcomeContract(api: StoreContractApi, store: Store): void {
  const { test, expect } = api;
  const rejectsWith = rejectionChecker(api.expect);
  test("completes, retries later, dead-letters and replays", async () => {
    await store.inbox.ingest({ account: "acme", receivedAt: T0, events: [event("a"), event("b")] });
    await store.inbox.claim({ now: T0 });
    await store.inbox.complete("acme", "a", { now: T0 + 1 });
    await store.inbox.fail("acme", "b", {
      error: "handler threw: boom",
      retryAt: T0 + 5000,
      now: T0 + 1,
    });
    expect(await store.inbox.claim({ now: T0 + 4999 })).toEqual([]);
    const retried = await store.inbox.claim({ now: T0 + 5000 });
    expect(retried.map((r) => [r.key, r.attempts, r.lastError])).toEqual([["b", 2, "handler threw: boom"]]);
    await store.inbox.fail("acme", "b", { error: "still failing", retryAt: null, now: T0 + 5001 });
    expect(await store.inbox.get("acme", "b")).toMatchObject({
      state: "dead",
      lastError: "still failing",
      leaseUntil: null,
    });
    expect(await store.inbox.get("acme", "a")).toMatchObject({ state: "done", completedAt: T0 + 1 });
    expect(await store.inbox.claim({ now: T0 + 99_999 })).toEqual([]);
    const stats = await store.inbox.stats("acme");
    expect(stats).toMatchObject({
      total: 2,
      pending: 0,
      done: 1,
      dead: 1,
      byType: { send: 2 },
      lastReceivedAt: T0,
    });
    expect(await store.inbox.replay("acme", "b", { now: T0 + 100_000 })).toBe(true);
    expect(await store.inbox.replay("acme", "nope")).toBe(false);
    const replayed = await store.inbox.claim({ now: T0 + 100_000 });
    expect(replayed.map((r) => [r.key, r.attempts])).toEqual([["b", 1]]);
  });

  test("stores events nobody handles as done: never claimed, still counted and deduped", async () => {
    const result = await store.inbox.ingest({
      account: "acme",
      receivedAt: T0,
      events: [event("n1", { state: "done" }), event("n2")],
    });
    expect(result.inserted).toEqual(["n1", "n2"]);
    expect(await store.inbox.get("acme", "n1")).toMatchObject({
      state: "done",
      completedAt: T0,
      nextAttemptAt: null,
    });
    expect((await store.inbox.claim({ now: T0 })).map((r) => r.key)).toEqual(["n2"]);
    expect((await store.inbox.ingest({ account: "acme", events: [event("n1")] })).duplicates).toEqual(["n1"]);
    expect(await store.inbox.stats("acme")).toMatchObject({ total: 2, done: 1, pending: 1 });
  });

  test("completes many events in one call, ignoring unknown ones", async () => {
    await store.inbox.ingest({
      account: "acme",
      receivedAt: T0,
      events: [event("c1"), event("c2"), event("c3")],
    });
    await store.inbox.claim({ now: T0 });
    const changed = await store.inbox.completeMany(
      [
        { account: "acme", key: "c1" },
        { account: "acme", key: "c3" },
        { account: "acme", key: "missing" },
      ],
      { now: T0 + 5 },
    );
    expect(changed).toBe(2);
    expect(await store.inbox.get("acme", "c1")).toMatchObject({
      state: "done",
      completedAt: T0 + 5,
      leaseUntil: null,
    });
    expect((await store.inbox.get("acme", "c2"))?.state).toBe("pending");
    expect(await store.inbox.completeMany([])).toBe(0);
  });

  test("counts an event named twice in one completeMany once", async () => {
    await store.inbox.ingest({ account: "acme", receivedAt: T0, events: [event("d1"), event("d2")] });
    await store.inbox.claim({ now: T0 });
    const changed = await store.inbox.completeMany(
      [
        { account: "acme", key: "d1" },
        { account: "acme", key: "d1" },
        { account: "acme", key: "d2" },
      ],
      { now: T0 + 5 },
    );
    expect(changed).toBe(2);
    expect((await store.inbox.get("acme", "d1"))?.state).toBe("done");
    expect(await store.inbox.stats("acme")).toMatchObject({ done: 2, pending: 0 });
  });

  test("reports a missing event as not found", async () => {
    await rejectsWith(store.inbox.complete("acme", "missing"), "ERR_MK_NOT_FOUND");
    await rejectsWith(store.inbox.fail("acme", "missing", { error: "x", retryAt: null }), "ERR_MK_NOT_FOUND");
  });

  test("lists newest first with filters and paging", async () => {
    await store.inbox.ingest({
      account: "acme",
      receivedAt: T0,
      events: Array.from({ length: 12 }, (_, i) =>
        event(`e${String(i).padStart(2, "0")}`, { type: i % 2 === 0 ? "send" : "open" }),
      ),
    });
    const first = await store.inbox.list("acme", { limit: 5 });
    expect(first.items.map((r) => r.key)).toEqual(["e11", "e10", "e09", "e08", "e07"]);
    const second = await store.inbox.list("acme", { limit: 5, after: first.next });
    expect(second.items.map((r) => r.key)).toEqual(["e06", "e05", "e04", "e03", "e02"]);
    const opens = await store.inbox.list("acme", { type: "open" });
    expect(opens.items).toHaveLength(6);
    expect((await store.inbox.list("acme", { state: "dead" })).items).toEqual([]);
  });

  test("keeps quarantined bodies and counts them", async () => {
    const id = await store.inbox.quarantine({
      account: "acme",
      body: "[{not json",
      error: "invalid-json",
      receivedAt: T0,
    });
    await store.inbox.quarantine({
      account: "acme",
      body: "{}",
      error: "not-an-array",
      receivedAt: T0 + 1,
    });
    const page = await store.inbox.listQuarantined("acme");
    expect(page.items.map((q) => q.body)).toEqual(["{}", "[{not json"]);
    expect(page.items[1]).toMatchObject({ id, account: "acme", error: "invalid-json", receivedAt: T0 });
    const stats = await store.inbox.stats("acme");
    expect(stats.quarantined).toBe(2);
    expect(stats.lastReceivedAt).toBe(T0 + 1);
    expect((await store.inbox.listQuarantined("other")).items).toEqual([]);
  });
}
