import type { MandrillListRow, Store } from "../../store.js";
import {
  DAY,
  rejectionChecker,
  type StoreContractApi,
  type StoreContractOptions,
  storePerTest,
  T0,
  webhookSuppression,
} from "./helpers.js";

const deny = (email: string, overrides: Partial<MandrillListRow> = {}): MandrillListRow => ({
  list: "deny",
  email,
  reason: "hard-bounce",
  detail: "550 5.1.1",
  expiresAt: T0 + 7 * DAY,
  changedAt: T0 - DAY,
  ...overrides,
});
const allow = (email: string): MandrillListRow => ({ list: "allow", email, changedAt: T0 - DAY });

async function sync(store: Store, run: string, rows: MandrillListRow[], at = T0) {
  await store.suppressions.stageMandrillRows("acme", run, rows);
  return store.suppressions.applyMandrillRun("acme", run, { at });
}

/** Staging, applying all at once, and idempotence. */
function applying({ test, expect }: StoreContractApi, store: Store): void {
  test("changes nothing until the run is applied, then imports with source mandrill-sync", async () => {
    await store.suppressions.stageMandrillRows("acme", "run1", [
      deny("A@Example.com"),
      deny("b@example.com", { reason: "custom", expiresAt: null, detail: null }),
    ]);
    expect(await store.suppressions.count("acme", { status: "all" })).toBe(0);
    const counts = await store.suppressions.applyMandrillRun("acme", "run1", { at: T0 });
    expect(counts).toMatchObject({ imported: 2, updated: 0, unchanged: 0, onlyLocal: 0, onlyMandrill: 0 });
    expect(await store.suppressions.get("acme", "a@example.com")).toMatchObject({
      reason: "hard-bounce",
      source: "mandrill-sync",
      detail: "550 5.1.1",
      expiresAt: T0 + 7 * DAY,
      createdAt: T0,
    });
    expect(await store.suppressions.get("acme", "b@example.com")).toMatchObject({
      reason: "custom",
      expiresAt: null,
    });
    expect(await store.suppressions.mandrillSyncState("acme")).toMatchObject({ run: "run1", syncedAt: T0 });
  });

  test("applying the same rows again changes nothing", async () => {
    const rows = [deny("a@example.com"), deny("b@example.com", { reason: "spam" }), allow("c@example.com")];
    await sync(store, "run1", rows);
    const before = await store.suppressions.list("acme", { status: "all", now: T0 });
    const again = await sync(store, "run2", rows, T0 + 1000);
    expect(again).toMatchObject({ imported: 0, updated: 0, lifted: 0, unchanged: 3 });
    expect(await store.suppressions.list("acme", { status: "all", now: T0 })).toEqual(before);
  });

  test("mirrors a change Mandrill made to its own entry", async () => {
    await sync(store, "run1", [deny("a@example.com", { reason: "soft-bounce", expiresAt: T0 + DAY })]);
    const counts = await sync(
      store,
      "run2",
      [deny("a@example.com", { reason: "custom", expiresAt: null })],
      T0 + 1,
    );
    expect(counts).toMatchObject({ updated: 1 });
    expect(await store.suppressions.get("acme", "a@example.com")).toMatchObject({
      reason: "custom",
      expiresAt: null,
      createdAt: T0,
    });
  });

  test("keeps the longer-lasting of two rows staged for one address", async () => {
    await store.suppressions.stageMandrillRows("acme", "run1", [
      deny("a@example.com", { reason: "soft-bounce", expiresAt: T0 + DAY }),
    ]);
    await store.suppressions.stageMandrillRows("acme", "run1", [
      deny("a@example.com", { reason: "unsub", expiresAt: T0 + 300 * DAY }),
      deny("a@example.com", { reason: "spam", expiresAt: T0 + 2 * DAY }),
    ]);
    await store.suppressions.applyMandrillRun("acme", "run1", { at: T0 });
    expect(await store.suppressions.get("acme", "a@example.com")).toMatchObject({ reason: "unsub" });
  });

  test("applies runs larger than one page of the apply", async () => {
    const rows = Array.from({ length: 2600 }, (_, i) => deny(`u${String(i).padStart(5, "0")}@example.com`));
    for (let i = 0; i < rows.length; i += 700) {
      await store.suppressions.stageMandrillRows("acme", "big", rows.slice(i, i + 700));
    }
    expect(await store.suppressions.applyMandrillRun("acme", "big", { at: T0 })).toMatchObject({
      imported: 2600,
    });
    expect(await store.suppressions.count("acme", { now: T0 })).toBe(2600);
    expect((await sync(store, "big2", rows, T0 + 1)).unchanged).toBe(2600);
  });
}

/** Local entries: stronger ones kept, lifts honoured, allowlist lifts. */
function reconciling({ test, expect }: StoreContractApi, store: Store): void {
  test("keeps a stronger local entry and replaces a weaker one", async () => {
    await store.suppressions.add(webhookSuppression("strong@example.com", "hard-bounce"));
    await store.suppressions.add(
      webhookSuppression("weak@example.com", "soft-bounce", { expiresAt: T0 + DAY }),
    );
    const counts = await sync(store, "run1", [
      deny("strong@example.com", { reason: "soft-bounce", expiresAt: T0 + DAY }),
      deny("weak@example.com", { reason: "unsub", expiresAt: T0 + 365 * DAY }),
    ]);
    expect(counts).toMatchObject({ unchanged: 1, updated: 1 });
    expect(await store.suppressions.get("acme", "strong@example.com")).toMatchObject({
      reason: "hard-bounce",
      source: "webhook",
    });
    expect(await store.suppressions.get("acme", "weak@example.com")).toMatchObject({
      reason: "unsub",
      source: "mandrill-sync",
      expiresAt: T0 + 365 * DAY,
    });
  });

  test("does not re-suppress a lifted entry unless Mandrill changed it after the lift", async () => {
    await store.suppressions.add(webhookSuppression("old@example.com", "hard-bounce"));
    await store.suppressions.add(webhookSuppression("new@example.com", "hard-bounce"));
    for (const email of ["old@example.com", "new@example.com"]) {
      await store.suppressions.remove("acme", email, { by: "admin", reason: "fixed", at: T0 + 10 });
    }
    const counts = await sync(
      store,
      "run1",
      [deny("old@example.com", { changedAt: T0 + 5 }), deny("new@example.com", { changedAt: T0 + 20 })],
      T0 + 30,
    );
    expect(counts).toMatchObject({ unchanged: 1, imported: 1, onlyMandrill: 1 });
    expect(await store.suppressions.get("acme", "old@example.com")).toMatchObject({ liftedBy: "admin" });
    expect(await store.suppressions.check("acme", ["new@example.com"], { now: T0 + 31 })).toHaveLength(1);
  });

  test("lifts entries from Mandrill for allowlisted addresses, never local ones", async () => {
    await sync(store, "run1", [deny("synced@example.com")]);
    await store.suppressions.add(webhookSuppression("local@example.com", "spam"));
    const counts = await sync(
      store,
      "run2",
      [
        allow("synced@example.com"),
        allow("local@example.com"),
        deny("both@example.com"),
        allow("both@example.com"),
      ],
      T0 + 1,
    );
    expect(counts).toMatchObject({ lifted: 1, allowlisted: 1, imported: 0 });
    expect(await store.suppressions.get("acme", "synced@example.com")).toMatchObject({
      liftedBy: "mandrill-sync",
      liftedAt: T0 + 1,
    });
    expect(await store.suppressions.check("acme", ["local@example.com"], { now: T0 + 2 })).toHaveLength(1);
    expect(await store.suppressions.get("acme", "both@example.com")).toBeUndefined();
  });
}

/** Refusals, discarding, drift. */
function refusingAndDrift(api: StoreContractApi, store: Store): void {
  const { test, expect } = api;
  const rejectsWith = rejectionChecker(api.expect);
  test("refuses a bad row, staging nothing of that call, and a discarded run changes nothing", async () => {
    await rejectsWith(
      store.suppressions.stageMandrillRows("acme", "run1", [deny("ok@example.com"), deny("not an address")]),
      "ERR_MK_EMAIL_INVALID",
    );
    await rejectsWith(
      store.suppressions.stageMandrillRows("acme", "bad run!", [deny("ok@example.com")]),
      "ERR_MK_VALIDATION_FAILED",
    );
    expect(await store.suppressions.applyMandrillRun("acme", "run1", { at: T0 })).toMatchObject({
      imported: 0,
    });
    await store.suppressions.stageMandrillRows("acme", "run2", [deny("x@example.com")]);
    await store.suppressions.discardMandrillRun("acme", "run2");
    expect(await store.suppressions.applyMandrillRun("acme", "run2", { at: T0 })).toMatchObject({
      imported: 0,
    });
    expect(await store.suppressions.count("acme", { status: "all" })).toBe(0);
  });

  test("lists the drift: active only here, and on Mandrill's list but not active here", async () => {
    await store.suppressions.add(webhookSuppression("local-only@example.com", "spam"));
    await store.suppressions.add(webhookSuppression("lifted@example.com", "spam"));
    await store.suppressions.remove("acme", "lifted@example.com", { by: "a", reason: "b", at: T0 + 10 });
    const counts = await sync(
      store,
      "run1",
      [deny("both@example.com"), deny("lifted@example.com", { changedAt: T0 })],
      T0 + 20,
    );
    expect(counts).toMatchObject({ onlyLocal: 1, onlyMandrill: 1 });
    const local = await store.suppressions.drift("acme", { side: "local", now: T0 + 30 });
    expect(local.items.map((d) => d.email)).toEqual(["local-only@example.com"]);
    expect(local.items[0]?.local).toMatchObject({ reason: "spam" });
    const mandrill = await store.suppressions.drift("acme", { side: "mandrill", now: T0 + 30 });
    expect(mandrill.items).toMatchObject([
      { email: "lifted@example.com", mandrill: { reason: "hard-bounce" }, local: { liftedBy: "a" } },
    ]);
    expect(await store.suppressions.drift("other", { side: "local" })).toEqual({ items: [], next: null });
  });
}

/** The Mandrill denylist sync of `suppressions` (docs/design.md#mandrill-denylist-sync). */
export function mandrillSyncContract(api: StoreContractApi, options: StoreContractOptions): void {
  api.describe("suppressions: Mandrill denylist sync", () => {
    const store = storePerTest(api, options);
    applying(api, store);
    reconciling(api, store);
    refusingAndDrift(api, store);
  });
}
