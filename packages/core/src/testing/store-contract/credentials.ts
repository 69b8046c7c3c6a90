import {
  rejectionChecker,
  type StoreContractApi,
  type StoreContractOptions,
  storePerTest,
  T0,
} from "./helpers.js";

/** `credentials`: put/get/delete/list, versions and optimistic concurrency, copies. */
export function credentialsContract(api: StoreContractApi, options: StoreContractOptions): void {
  const { describe, test, expect } = api;
  const rejectsWith = rejectionChecker(api.expect);
  describe("credentials", () => {
    const store = storePerTest(api, options);

    test("stores ciphertexts and settings verbatim and reads them back", async () => {
      const saved = await store.credentials.put(
        "acme",
        {
          settings: { host: "smtp.mandrillapp.com", port: 587, nested: { a: [1, "x"] } },
          secrets: { apiKey: "eyJhbGciOi.x.y.z.w" },
        },
        { at: T0 },
      );
      expect(saved.version).toBe(1);
      expect(saved.createdAt).toBe(T0);
      const read = await store.credentials.get("acme");
      expect(read).toEqual(saved);
      expect(read?.secrets.apiKey).toBe("eyJhbGciOi.x.y.z.w");
      expect(read?.settings).toEqual({ host: "smtp.mandrillapp.com", port: 587, nested: { a: [1, "x"] } });
    });

    test("returns undefined for an account without settings", async () => {
      expect(await store.credentials.get("nobody")).toBeUndefined();
    });

    test("increments the version on every write and keeps createdAt", async () => {
      await store.credentials.put("acme", { settings: { a: 1 }, secrets: {} }, { at: T0 });
      const second = await store.credentials.put(
        "acme",
        { settings: { a: 2 }, secrets: { apiKey: "c2" } },
        { at: T0 + 5 },
      );
      expect(second.version).toBe(2);
      expect(second.createdAt).toBe(T0);
      expect(second.updatedAt).toBe(T0 + 5);
      expect(second.settings).toEqual({ a: 2 });
    });

    test("refuses a write based on a stale version (optimistic concurrency)", async () => {
      await store.credentials.put("acme", { settings: {}, secrets: {} }, { expectedVersion: 0 });
      await rejectsWith(
        store.credentials.put("acme", { settings: {}, secrets: {} }, { expectedVersion: 0 }),
        "ERR_MK_STORE_CONFLICT",
      );
      const ok = await store.credentials.put(
        "acme",
        { settings: { b: 1 }, secrets: {} },
        { expectedVersion: 1 },
      );
      expect(ok.version).toBe(2);
      await rejectsWith(
        store.credentials.put("acme", { settings: {}, secrets: {} }, { expectedVersion: 1 }),
        "ERR_MK_STORE_CONFLICT",
      );
    });

    test("keeps accounts apart and lists them in id order across pages", async () => {
      for (const id of ["c", "a", "b", "d", "e"])
        await store.credentials.put(id, { settings: { id }, secrets: {} });
      const first = await store.credentials.list({ limit: 2 });
      expect(first.items.map((r) => r.account)).toEqual(["a", "b"]);
      const second = await store.credentials.list({ limit: 2, after: first.next });
      expect(second.items.map((r) => r.account)).toEqual(["c", "d"]);
      const third = await store.credentials.list({ limit: 2, after: second.next });
      expect(third.items.map((r) => r.account)).toEqual(["e"]);
      expect(third.next).toBeNull();
      expect((await store.credentials.get("b"))?.settings).toEqual({ id: "b" });
    });

    test("deletes an account's settings", async () => {
      await store.credentials.put("acme", { settings: {}, secrets: {} });
      expect(await store.credentials.delete("acme")).toBe(true);
      expect(await store.credentials.delete("acme")).toBe(false);
      expect(await store.credentials.get("acme")).toBeUndefined();
    });

    test("refuses invalid account ids", async () => {
      await rejectsWith(
        store.credentials.put("../etc", { settings: {}, secrets: {} }),
        "ERR_MK_ACCOUNT_INVALID",
      );
      await rejectsWith(store.credentials.get(""), "ERR_MK_ACCOUNT_INVALID");
    });

    test("returns copies: mutating a result does not change the store", async () => {
      await store.credentials.put("acme", { settings: { a: 1 }, secrets: { apiKey: "x" } });
      const read = await store.credentials.get("acme");
      expect(read).toBeDefined();
      if (read === undefined) return;
      read.settings.a = 2;
      read.secrets.apiKey = "changed";
      const again = await store.credentials.get("acme");
      expect(again?.settings.a).toBe(1);
      expect(again?.secrets.apiKey).toBe("x");
    });
  });
}
