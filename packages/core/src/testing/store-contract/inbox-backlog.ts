import { event, type StoreContractApi, type StoreContractOptions, storePerTest, T0 } from "./helpers.js";

/** `inbox.backlog()`: the store-wide pending and dead counts and the oldest due time (gauges, health). */
export function inboxBacklogContract(api: StoreContractApi, options: StoreContractOptions): void {
  const { describe, test, expect } = api;
  describe("inbox backlog", () => {
    const store = storePerTest(api, options);

    test("counts pending and dead events of every account, and the earliest due time", async () => {
      const backlog = store.inbox.backlog?.bind(store.inbox);
      expect(backlog, "the store implements inbox.backlog()").toBeTypeOf("function");
      if (backlog === undefined) return;
      expect(await backlog()).toEqual({ pending: 0, dead: 0, oldestDueAt: null });
      await store.inbox.ingest({ account: "a", receivedAt: T0, events: [event("x"), event("y")] });
      await store.inbox.ingest({
        account: "b",
        receivedAt: T0 + 10,
        events: [event("z"), { ...event("done"), state: "done" }],
      });
      expect(await backlog()).toEqual({ pending: 3, dead: 0, oldestDueAt: T0 });
      const [x, y] = await store.inbox.claim({ limit: 2, now: T0 + 20 });
      expect([x?.key, y?.key]).toEqual(["x", "y"]);
      await store.inbox.fail("a", "x", { error: "boom", retryAt: null, now: T0 + 21 });
      await store.inbox.fail("a", "y", { error: "boom", retryAt: T0 + 5000, now: T0 + 21 });
      // z (due since T0 + 10) is now the one waiting longest; y waits for its retry at T0 + 5000.
      expect(await backlog()).toEqual({ pending: 2, dead: 1, oldestDueAt: T0 + 10 });
      await store.inbox.replay("a", "x", { now: T0 + 30 });
      expect(await backlog()).toEqual({ pending: 3, dead: 0, oldestDueAt: T0 + 10 });
    });
  });
}
