import type { Store } from "../../store.js";
import {
  DAY,
  rejectionChecker,
  type StoreContractApi,
  type StoreContractOptions,
  storePerTest,
  T0,
  webhookSuppression,
} from "./helpers.js";

/** `check`: normalised, many at once, per account, until expiry. */
function checking({ test, expect }: StoreContractApi, store: Store): void {
  test("finds suppressed addresses whatever their case and surrounding space", async () => {
    await store.suppressions.add(webhookSuppression(" Bob@Example.NET ", "hard-bounce"));
    const hits = await store.suppressions.check(
      "acme",
      ["bob@example.net", "BOB@EXAMPLE.NET", "<bob@example.net>", "carol@example.net"],
      { now: T0 + 1 },
    );
    expect(hits.map((s) => s.email)).toEqual(["bob@example.net"]);
    expect(hits[0]?.reason).toBe("hard-bounce");
  });

  test("checks many addresses in one call and returns only the suppressed ones", async () => {
    const suppressed = Array.from({ length: 300 }, (_, i) => `user${i * 3}@example.com`);
    await store.suppressions.addMany(
      suppressed.map((email) => ({
        account: "acme",
        email,
        reason: "unsub" as const,
        source: "webhook" as const,
        at: T0,
      })),
    );
    const asked = Array.from({ length: 1000 }, (_, i) => `User${i}@Example.com`);
    const hits = await store.suppressions.check("acme", asked, { now: T0 + 1 });
    expect(hits.map((s) => s.email).sort()).toEqual(
      suppressed.filter((e) => Number(e.slice(4, -12)) < 1000).sort(),
    );
  });

  test("ignores invalid addresses and duplicates in a check", async () => {
    await store.suppressions.add(webhookSuppression("a@example.com", "spam"));
    const hits = await store.suppressions.check(
      "acme",
      ["not an address", "", "a@example.com", "A@example.com"],
      { now: T0 },
    );
    expect(hits).toHaveLength(1);
    expect(await store.suppressions.check("acme", [], { now: T0 })).toEqual([]);
  });

  test("keeps accounts apart", async () => {
    await store.suppressions.add(webhookSuppression("a@example.com", "spam"));
    expect(await store.suppressions.check("other", ["a@example.com"], { now: T0 })).toEqual([]);
    expect(await store.suppressions.count("other")).toBe(0);
  });

  test("stops applying a suppression when it expires", async () => {
    await store.suppressions.add(webhookSuppression("a@example.com", "soft-bounce", { expiresAt: T0 + DAY }));
    expect(await store.suppressions.check("acme", ["a@example.com"], { now: T0 + DAY - 1 })).toHaveLength(1);
    expect(await store.suppressions.check("acme", ["a@example.com"], { now: T0 + DAY })).toHaveLength(0);
    expect(await store.suppressions.count("acme", { status: "expired", now: T0 + DAY })).toBe(1);
  });
}

/** The merge rule of `add`, and lifting. */
function mergingAndLifting({ test, expect }: StoreContractApi, store: Store): void {
  test("never shortens an active suppression, but extends it with a longer one", async () => {
    const first = await store.suppressions.add(
      webhookSuppression("a@example.com", "soft-bounce", { expiresAt: T0 + DAY }),
    );
    expect(first.status).toBe("added");
    const shorter = await store.suppressions.add(
      webhookSuppression("a@example.com", "soft-bounce", { expiresAt: T0 + 10, at: T0 + 1 }),
    );
    expect(shorter.status).toBe("unchanged");
    expect(shorter.suppression.expiresAt).toBe(T0 + DAY);
    const forever = await store.suppressions.add(
      webhookSuppression("a@example.com", "hard-bounce", { detail: "550 5.1.1", at: T0 + 2 }),
    );
    expect(forever.status).toBe("extended");
    expect(forever.suppression).toMatchObject({
      reason: "hard-bounce",
      expiresAt: null,
      detail: "550 5.1.1",
      createdAt: T0,
      updatedAt: T0 + 2,
    });
    const again = await store.suppressions.add(
      webhookSuppression("a@example.com", "soft-bounce", { expiresAt: T0 + 99 * DAY, at: T0 + 3 }),
    );
    expect(again.status).toBe("unchanged");
    expect((await store.suppressions.get("acme", "a@example.com"))?.reason).toBe("hard-bounce");
  });

  test("lifts an entry with who and why, and a later signal suppresses again", async () => {
    await store.suppressions.add(webhookSuppression("a@example.com", "hard-bounce"));
    expect(
      await store.suppressions.remove("acme", "A@example.com", {
        by: "admin@acme",
        reason: "mailbox fixed",
        at: T0 + 1,
      }),
    ).toBe(true);
    expect(await store.suppressions.check("acme", ["a@example.com"], { now: T0 + 2 })).toEqual([]);
    const lifted = await store.suppressions.get("acme", "a@example.com");
    expect(lifted).toMatchObject({
      liftedAt: T0 + 1,
      liftedBy: "admin@acme",
      liftReason: "mailbox fixed",
    });
    expect(
      await store.suppressions.remove("acme", "a@example.com", { by: "x", reason: "y", at: T0 + 3 }),
    ).toBe(false);
    const again = await store.suppressions.add(webhookSuppression("a@example.com", "spam", { at: T0 + 4 }));
    expect(again.status).toBe("added");
    expect(again.suppression).toMatchObject({ liftedAt: null, liftedBy: null, createdAt: T0 + 4 });
    expect(await store.suppressions.check("acme", ["a@example.com"], { now: T0 + 5 })).toHaveLength(1);
  });

  test("lifts only entries from the named sources when asked", async () => {
    await store.suppressions.add(webhookSuppression("a@example.com", "hard-bounce"));
    expect(
      await store.suppressions.remove("acme", "a@example.com", {
        by: "sync",
        reason: "r",
        sources: ["sync"],
        at: T0 + 1,
      }),
    ).toBe(false);
    expect(await store.suppressions.check("acme", ["a@example.com"], { now: T0 + 2 })).toHaveLength(1);
  });
}

/** Refused input, `list` and `count`. */
function validatingAndListing(api: StoreContractApi, store: Store): void {
  const { test, expect } = api;
  const rejectsWith = rejectionChecker(api.expect);
  test("refuses invalid input with a validation error and writes nothing", async () => {
    await rejectsWith(
      store.suppressions.add({ account: "acme", email: "nope", reason: "spam", source: "webhook" }),
      "ERR_MK_EMAIL_INVALID",
    );
    await rejectsWith(
      store.suppressions.add({
        account: "acme",
        email: "a@example.com",
        reason: "bogus" as "spam",
        source: "webhook",
      }),
      "ERR_MK_VALIDATION_FAILED",
    );
    await rejectsWith(
      store.suppressions.addMany([
        { account: "acme", email: "ok@example.com", reason: "spam", source: "import" },
        { account: "acme", email: "bad", reason: "spam", source: "import" },
      ]),
      "ERR_MK_EMAIL_INVALID",
    );
    expect(await store.suppressions.count("acme", { status: "all" })).toBe(0);
  });

  test("lists by address with filters and stable paging", async () => {
    const reasons = ["hard-bounce", "spam", "unsub"] as const;
    await store.suppressions.addMany(
      Array.from({ length: 25 }, (_, i) => ({
        account: "acme",
        email: `u${String(i).padStart(2, "0")}@example.com`,
        reason: reasons[i % 3] ?? "spam",
        source: i % 2 === 0 ? ("webhook" as const) : ("manual" as const),
        at: T0,
      })),
    );
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page = await store.suppressions.list("acme", { limit: 7, after, now: T0 });
      seen.push(...page.items.map((s) => s.email));
      after = page.next;
    } while (after !== null);
    expect(seen).toHaveLength(25);
    expect([...seen].sort()).toEqual(seen);
    const spam = await store.suppressions.list("acme", { reason: "spam", now: T0 });
    expect(spam.items.every((s) => s.reason === "spam")).toBe(true);
    expect(spam.items).toHaveLength(8);
    expect(await store.suppressions.count("acme", { reason: "unsub", now: T0 })).toBe(8);
    expect(await store.suppressions.count("acme", { source: "manual", now: T0 })).toBe(12);
    const search = await store.suppressions.list("acme", { search: "U1", now: T0 });
    expect(search.items.map((s) => s.email)).toEqual(
      Array.from({ length: 10 }, (_, i) => `u1${i}@example.com`),
    );
  });

  test("filters by status: active, expired, lifted, all", async () => {
    await store.suppressions.add(webhookSuppression("active@example.com", "spam"));
    await store.suppressions.add(
      webhookSuppression("expired@example.com", "soft-bounce", { expiresAt: T0 + 1 }),
    );
    await store.suppressions.add(webhookSuppression("lifted@example.com", "unsub"));
    await store.suppressions.remove("acme", "lifted@example.com", { by: "a", reason: "b", at: T0 + 1 });
    const at = T0 + 10;
    expect((await store.suppressions.list("acme", { now: at })).items.map((s) => s.email)).toEqual([
      "active@example.com",
    ]);
    expect(
      (await store.suppressions.list("acme", { status: "expired", now: at })).items.map((s) => s.email),
    ).toEqual(["expired@example.com"]);
    expect(
      (await store.suppressions.list("acme", { status: "lifted", now: at })).items.map((s) => s.email),
    ).toEqual(["lifted@example.com"]);
    expect(await store.suppressions.count("acme", { status: "all", now: at })).toBe(3);
  });

  test("refuses a cursor it did not make", async () => {
    await rejectsWith(
      store.suppressions.list("acme", { after: "%%%not-a-cursor" }),
      "ERR_MK_VALIDATION_FAILED",
    );
  });
}

/** `suppressions`: normalised checks, expiry, the merge rule, lifting, filters and paging. */
export function suppressionsContract(api: StoreContractApi, options: StoreContractOptions): void {
  api.describe("suppressions", () => {
    const store = storePerTest(api, options);
    checking(api, store);
    mergingAndLifting(api, store);
    validatingAndListing(api, store);
  });
}
