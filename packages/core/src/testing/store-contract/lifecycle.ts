import {
  rejectionChecker,
  type StoreContractApi,
  type StoreContractOptions,
  storePerTest,
} from "./helpers.js";

/** Lifecycle: idempotent migrations, and every call rejected after `close()`. */
export function lifecycleContract(api: StoreContractApi, options: StoreContractOptions): void {
  const { describe, test, expect } = api;
  const rejectsWith = rejectionChecker(api.expect);
  describe("lifecycle", () => {
    const store = storePerTest(api, options);

    test("migrates idempotently", async () => {
      await store.migrate();
      await store.migrate();
      await store.suppressions.add({
        account: "acme",
        email: "a@example.com",
        reason: "spam",
        source: "manual",
      });
      expect(await store.suppressions.count("acme")).toBe(1);
    });

    test("rejects every call after close with ERR_MK_STORE_CLOSED", async () => {
      await store.close();
      await store.close();
      await rejectsWith(store.suppressions.check("acme", ["a@example.com"]), "ERR_MK_STORE_CLOSED");
      await rejectsWith(store.inbox.ingest({ account: "acme", events: [] }), "ERR_MK_STORE_CLOSED");
      await rejectsWith(store.credentials.get("acme"), "ERR_MK_STORE_CLOSED");
      await rejectsWith(store.sends.list("acme"), "ERR_MK_STORE_CLOSED");
    });
  });
}
