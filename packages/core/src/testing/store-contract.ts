import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isMandrillKitError } from "../errors.js";
import type { InboxEventInput, Store, SuppressionEffect } from "../store.js";

/** Options of {@link runStoreContract}. */
export interface StoreContractOptions {
  /** Shown in the test names, e.g. `"sqlite (file)"`. */
  name: string;
  /** Opens a fresh, empty, migrated store. Called before every test. */
  open: () => Store | Promise<Store>;
  /** Called after every test (after `store.close()`), e.g. to delete files. */
  cleanup?: () => void | Promise<void>;
}

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

function event(key: string, overrides: Partial<InboxEventInput> = {}): InboxEventInput {
  return {
    key,
    type: "send",
    email: "alice@example.org",
    messageId: `id-${key}`,
    eventAt: T0,
    raw: JSON.stringify({ event: "send", _id: `id-${key}`, ts: T0 / 1000 }),
    ...overrides,
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a rejection with ${code}`).toBeDefined();
  expect(isMandrillKitError(caught), `expected a MandrillKitError, got ${String(caught)}`).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
}

/**
 * The behaviour every {@link Store} adapter must have (keyv's test-suite idea): run it from the
 * adapter's own tests with a factory that opens a fresh store. Uses vitest.
 *
 * ```ts
 * runStoreContract({ name: "sqlite", open: () => openSqliteStore({ filename: ":memory:" }) });
 * ```
 */
export function runStoreContract(options: StoreContractOptions): void {
  describe(`store contract: ${options.name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await options.open();
    });

    afterEach(async () => {
      await store.close();
      await options.cleanup?.();
    });

    describe("credentials", () => {
      it("stores ciphertexts and settings verbatim and reads them back", async () => {
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

      it("returns undefined for an account without settings", async () => {
        expect(await store.credentials.get("nobody")).toBeUndefined();
      });

      it("increments the version on every write and keeps createdAt", async () => {
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

      it("refuses a write based on a stale version (optimistic concurrency)", async () => {
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

      it("keeps accounts apart and lists them in id order across pages", async () => {
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

      it("deletes an account's settings", async () => {
        await store.credentials.put("acme", { settings: {}, secrets: {} });
        expect(await store.credentials.delete("acme")).toBe(true);
        expect(await store.credentials.delete("acme")).toBe(false);
        expect(await store.credentials.get("acme")).toBeUndefined();
      });

      it("refuses invalid account ids", async () => {
        await rejectsWith(
          store.credentials.put("../etc", { settings: {}, secrets: {} }),
          "ERR_MK_ACCOUNT_INVALID",
        );
        await rejectsWith(store.credentials.get(""), "ERR_MK_ACCOUNT_INVALID");
      });

      it("returns copies: mutating a result does not change the store", async () => {
        await store.credentials.put("acme", { settings: { a: 1 }, secrets: { apiKey: "x" } });
        const read = await store.credentials.get("acme");
        if (read === undefined) throw new Error("missing");
        read.settings.a = 2;
        read.secrets.apiKey = "changed";
        const again = await store.credentials.get("acme");
        expect(again?.settings.a).toBe(1);
        expect(again?.secrets.apiKey).toBe("x");
      });
    });

    describe("suppressions", () => {
      it("finds suppressed addresses whatever their case and surrounding space", async () => {
        await store.suppressions.add({
          account: "acme",
          email: " Bob@Example.NET ",
          reason: "hard-bounce",
          source: "webhook",
          at: T0,
        });
        const hits = await store.suppressions.check(
          "acme",
          ["bob@example.net", "BOB@EXAMPLE.NET", "<bob@example.net>", "carol@example.net"],
          { now: T0 + 1 },
        );
        expect(hits.map((s) => s.email)).toEqual(["bob@example.net"]);
        expect(hits[0]?.reason).toBe("hard-bounce");
      });

      it("checks many addresses in one call and returns only the suppressed ones", async () => {
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

      it("ignores invalid addresses and duplicates in a check", async () => {
        await store.suppressions.add({
          account: "acme",
          email: "a@example.com",
          reason: "spam",
          source: "webhook",
          at: T0,
        });
        const hits = await store.suppressions.check(
          "acme",
          ["not an address", "", "a@example.com", "A@example.com"],
          { now: T0 },
        );
        expect(hits).toHaveLength(1);
        expect(await store.suppressions.check("acme", [], { now: T0 })).toEqual([]);
      });

      it("keeps accounts apart", async () => {
        await store.suppressions.add({
          account: "acme",
          email: "a@example.com",
          reason: "spam",
          source: "webhook",
          at: T0,
        });
        expect(await store.suppressions.check("other", ["a@example.com"], { now: T0 })).toEqual([]);
        expect(await store.suppressions.count("other")).toBe(0);
      });

      it("stops applying a suppression when it expires", async () => {
        await store.suppressions.add({
          account: "acme",
          email: "a@example.com",
          reason: "soft-bounce",
          source: "webhook",
          expiresAt: T0 + DAY,
          at: T0,
        });
        expect(await store.suppressions.check("acme", ["a@example.com"], { now: T0 + DAY - 1 })).toHaveLength(
          1,
        );
        expect(await store.suppressions.check("acme", ["a@example.com"], { now: T0 + DAY })).toHaveLength(0);
        expect(await store.suppressions.count("acme", { status: "expired", now: T0 + DAY })).toBe(1);
      });

      it("never shortens an active suppression, but extends it with a longer one", async () => {
        const first = await store.suppressions.add({
          account: "acme",
          email: "a@example.com",
          reason: "soft-bounce",
          source: "webhook",
          expiresAt: T0 + DAY,
          at: T0,
        });
        expect(first.status).toBe("added");
        const shorter = await store.suppressions.add({
          account: "acme",
          email: "a@example.com",
          reason: "soft-bounce",
          source: "webhook",
          expiresAt: T0 + 10,
          at: T0 + 1,
        });
        expect(shorter.status).toBe("unchanged");
        expect(shorter.suppression.expiresAt).toBe(T0 + DAY);
        const forever = await store.suppressions.add({
          account: "acme",
          email: "a@example.com",
          reason: "hard-bounce",
          source: "webhook",
          detail: "550 5.1.1",
          at: T0 + 2,
        });
        expect(forever.status).toBe("extended");
        expect(forever.suppression).toMatchObject({
          reason: "hard-bounce",
          expiresAt: null,
          detail: "550 5.1.1",
          createdAt: T0,
          updatedAt: T0 + 2,
        });
        const again = await store.suppressions.add({
          account: "acme",
          email: "a@example.com",
          reason: "soft-bounce",
          source: "webhook",
          expiresAt: T0 + 99 * DAY,
          at: T0 + 3,
        });
        expect(again.status).toBe("unchanged");
        expect((await store.suppressions.get("acme", "a@example.com"))?.reason).toBe("hard-bounce");
      });

      it("lifts an entry with who and why, and a later signal suppresses again", async () => {
        await store.suppressions.add({
          account: "acme",
          email: "a@example.com",
          reason: "hard-bounce",
          source: "webhook",
          at: T0,
        });
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
        const again = await store.suppressions.add({
          account: "acme",
          email: "a@example.com",
          reason: "spam",
          source: "webhook",
          at: T0 + 4,
        });
        expect(again.status).toBe("added");
        expect(again.suppression).toMatchObject({ liftedAt: null, liftedBy: null, createdAt: T0 + 4 });
        expect(await store.suppressions.check("acme", ["a@example.com"], { now: T0 + 5 })).toHaveLength(1);
      });

      it("lifts only entries from the named sources when asked", async () => {
        await store.suppressions.add({
          account: "acme",
          email: "a@example.com",
          reason: "hard-bounce",
          source: "webhook",
          at: T0,
        });
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

      it("refuses invalid input with a validation error and writes nothing", async () => {
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

      it("lists by address with filters and stable paging", async () => {
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

      it("filters by status: active, expired, lifted, all", async () => {
        await store.suppressions.add({
          account: "acme",
          email: "active@example.com",
          reason: "spam",
          source: "webhook",
          at: T0,
        });
        await store.suppressions.add({
          account: "acme",
          email: "expired@example.com",
          reason: "soft-bounce",
          source: "webhook",
          expiresAt: T0 + 1,
          at: T0,
        });
        await store.suppressions.add({
          account: "acme",
          email: "lifted@example.com",
          reason: "unsub",
          source: "webhook",
          at: T0,
        });
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

      it("refuses a cursor it did not make", async () => {
        await rejectsWith(
          store.suppressions.list("acme", { after: "%%%not-a-cursor" }),
          "ERR_MK_VALIDATION_FAILED",
        );
      });
    });

    describe("inbox", () => {
      it("stores new events, skips redelivered ones and reports which", async () => {
        const first = await store.inbox.ingest({
          account: "acme",
          receivedAt: T0,
          events: [event("k1"), event("k2")],
        });
        expect(first).toEqual({ inserted: ["k1", "k2"], duplicates: [], effects: [] });
        const again = await store.inbox.ingest({
          account: "acme",
          receivedAt: T0 + 1,
          events: [event("k2"), event("k3"), event("k3")],
        });
        expect(again.inserted).toEqual(["k3"]);
        expect(again.duplicates).toEqual(["k2", "k3"]);
        expect((await store.inbox.stats("acme")).total).toBe(3);
        const record = await store.inbox.get("acme", "k2");
        expect(record).toMatchObject({
          account: "acme",
          key: "k2",
          type: "send",
          email: "alice@example.org",
          messageId: "id-k2",
          eventAt: T0,
          receivedAt: T0,
          state: "pending",
          attempts: 0,
        });
        expect(record?.raw).toBe(event("k2").raw);
      });

      it("dedupes per account: the same key in two accounts is two events", async () => {
        await store.inbox.ingest({ account: "a", events: [event("k")] });
        const other = await store.inbox.ingest({ account: "b", events: [event("k")] });
        expect(other.inserted).toEqual(["k"]);
      });

      it("applies suppression effects with the insert, once", async () => {
        const effects: SuppressionEffect[] = [
          {
            op: "suppress",
            email: "Bob@example.net",
            reason: "hard-bounce",
            source: "webhook",
            detail: "550",
            expiresAt: null,
          },
        ];
        const batch = {
          account: "acme",
          receivedAt: T0,
          events: [event("b1", { type: "hard_bounce", email: "bob@example.net", effects })],
        };
        const first = await store.inbox.ingest(batch);
        expect(first.effects).toEqual([
          { key: "b1", op: "suppressed", email: "bob@example.net", reason: "hard-bounce" },
        ]);
        expect(await store.suppressions.check("acme", ["bob@example.net"], { now: T0 })).toHaveLength(1);
        await store.suppressions.remove("acme", "bob@example.net", {
          by: "admin",
          reason: "fixed",
          at: T0 + 1,
        });
        const redelivered = await store.inbox.ingest({ ...batch, receivedAt: T0 + 2 });
        expect(redelivered.effects).toEqual([]);
        expect(await store.suppressions.check("acme", ["bob@example.net"], { now: T0 + 3 })).toHaveLength(0);
      });

      it("suppresses after the threshold of soft bounces within the window, counted by event time", async () => {
        const soft = (key: string, at: number) =>
          event(key, {
            type: "soft_bounce",
            email: "c@example.com",
            eventAt: at,
            effects: [
              {
                op: "soft-bounce",
                email: "c@example.com",
                detail: "mailbox full",
                threshold: 3,
                windowMs: 7 * DAY,
                suppressForMs: 7 * DAY,
              },
            ],
          });
        await store.inbox.ingest({ account: "acme", receivedAt: T0, events: [soft("s1", T0)] });
        await store.inbox.ingest({ account: "acme", receivedAt: T0, events: [soft("s2", T0 + 8 * DAY)] }); // s1 out of window
        const third = await store.inbox.ingest({
          account: "acme",
          receivedAt: T0 + 9 * DAY,
          events: [soft("s3", T0 + 9 * DAY)],
        });
        expect(third.effects).toEqual([]);
        expect(await store.suppressions.check("acme", ["c@example.com"], { now: T0 + 9 * DAY })).toHaveLength(
          0,
        );
        const redelivered = await store.inbox.ingest({
          account: "acme",
          receivedAt: T0 + 9 * DAY,
          events: [soft("s3", T0 + 9 * DAY)],
        });
        expect(redelivered.effects).toEqual([]);
        const fourth = await store.inbox.ingest({
          account: "acme",
          receivedAt: T0 + 10 * DAY,
          events: [soft("s4", T0 + 10 * DAY)],
        });
        expect(fourth.effects).toEqual([
          { key: "s4", op: "suppressed", email: "c@example.com", reason: "soft-bounce" },
        ]);
        const s = await store.suppressions.get("acme", "c@example.com");
        expect(s).toMatchObject({
          reason: "soft-bounce",
          source: "webhook",
          expiresAt: T0 + 17 * DAY,
          detail: "mailbox full",
        });
      });

      it("lifts through an effect, limited to the given sources", async () => {
        await store.suppressions.add({
          account: "acme",
          email: "s@example.com",
          reason: "hard-bounce",
          source: "sync",
          at: T0,
        });
        await store.suppressions.add({
          account: "acme",
          email: "w@example.com",
          reason: "hard-bounce",
          source: "webhook",
          at: T0,
        });
        const result = await store.inbox.ingest({
          account: "acme",
          receivedAt: T0 + 1,
          events: [
            event("l1", {
              type: "blacklist",
              email: "s@example.com",
              effects: [
                {
                  op: "lift",
                  email: "s@example.com",
                  by: "mandrill-sync",
                  reason: "removed",
                  sources: ["sync"],
                },
              ],
            }),
            event("l2", {
              type: "blacklist",
              email: "w@example.com",
              effects: [
                {
                  op: "lift",
                  email: "w@example.com",
                  by: "mandrill-sync",
                  reason: "removed",
                  sources: ["sync"],
                },
              ],
            }),
          ],
        });
        expect(result.effects).toEqual([{ key: "l1", op: "lifted", email: "s@example.com", reason: null }]);
        expect(
          (await store.suppressions.check("acme", ["s@example.com", "w@example.com"], { now: T0 + 2 })).map(
            (s) => s.email,
          ),
        ).toEqual(["w@example.com"]);
      });

      it("is all or nothing: an invalid event in the batch writes nothing", async () => {
        await rejectsWith(
          store.inbox.ingest({
            account: "acme",
            events: [
              event("ok", {
                effects: [
                  {
                    op: "suppress",
                    email: "x@example.com",
                    reason: "spam",
                    source: "webhook",
                    detail: null,
                    expiresAt: null,
                  },
                ],
              }),
              event("bad", {
                effects: [
                  {
                    op: "suppress",
                    email: "not-an-email",
                    reason: "spam",
                    source: "webhook",
                    detail: null,
                    expiresAt: null,
                  },
                ],
              }),
            ],
          }),
          "ERR_MK_EMAIL_INVALID",
        );
        expect(await store.inbox.get("acme", "ok")).toBeUndefined();
        expect(await store.suppressions.count("acme", { status: "all" })).toBe(0);
      });

      it("claims due events once while leased, in arrival order", async () => {
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

      it("never hands the same event to two concurrent claims", async () => {
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

      it("refuses claim options outside their ranges", async () => {
        await rejectsWith(store.inbox.claim({ limit: 0 }), "ERR_MK_VALIDATION_FAILED");
        await rejectsWith(store.inbox.claim({ limit: 1001 }), "ERR_MK_VALIDATION_FAILED");
        await rejectsWith(store.inbox.claim({ leaseMs: -5 }), "ERR_MK_VALIDATION_FAILED");
      });

      it("claims only one account's events when asked", async () => {
        await store.inbox.ingest({ account: "a", receivedAt: T0, events: [event("x")] });
        await store.inbox.ingest({ account: "b", receivedAt: T0, events: [event("y")] });
        expect((await store.inbox.claim({ account: "b", now: T0 })).map((r) => r.account)).toEqual(["b"]);
      });

      it("completes, retries later, dead-letters and replays", async () => {
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
        expect(retried.map((r) => [r.key, r.attempts, r.lastError])).toEqual([
          ["b", 2, "handler threw: boom"],
        ]);
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

      it("stores events nobody handles as done: never claimed, still counted and deduped", async () => {
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
        expect((await store.inbox.ingest({ account: "acme", events: [event("n1")] })).duplicates).toEqual([
          "n1",
        ]);
        expect(await store.inbox.stats("acme")).toMatchObject({ total: 2, done: 1, pending: 1 });
      });

      it("completes many events in one call, ignoring unknown ones", async () => {
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

      it("refuses an event time that is not a safe integer, writing nothing", async () => {
        await rejectsWith(
          store.inbox.ingest({ account: "acme", events: [event("ok"), event("huge", { eventAt: 9.2e18 })] }),
          "ERR_MK_VALIDATION_FAILED",
        );
        await rejectsWith(
          store.inbox.ingest({ account: "acme", events: [event("frac", { eventAt: 1.5 })] }),
          "ERR_MK_VALIDATION_FAILED",
        );
        expect(await store.inbox.get("acme", "ok")).toBeUndefined();
      });

      it("reports a missing event as not found", async () => {
        await rejectsWith(store.inbox.complete("acme", "missing"), "ERR_MK_NOT_FOUND");
        await rejectsWith(
          store.inbox.fail("acme", "missing", { error: "x", retryAt: null }),
          "ERR_MK_NOT_FOUND",
        );
      });

      it("lists newest first with filters and paging", async () => {
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

      it("keeps quarantined bodies and counts them", async () => {
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

      it("stores large raw events exactly", async () => {
        const raw = JSON.stringify({
          event: "inbound",
          msg: { raw_msg: "é✓\u0000".repeat(50_000), url: "https:\\/\\/x" },
        });
        await store.inbox.ingest({ account: "acme", events: [event("big", { type: "inbound", raw })] });
        expect((await store.inbox.get("acme", "big"))?.raw).toBe(raw);
      });
    });

    describe("sends", () => {
      it("records recipients and finds them by Mandrill id", async () => {
        await store.sends.record([
          {
            account: "acme",
            email: "Alice@Example.org",
            status: "sent",
            messageId: "m1",
            rejectReason: null,
            transport: "api",
            correlationId: "c1",
            subject: "Hi",
            at: T0,
          },
          {
            account: "acme",
            email: "bob@example.net",
            status: "rejected",
            messageId: "m2",
            rejectReason: "hard-bounce",
            transport: "api",
            correlationId: "c1",
            subject: "Hi",
            at: T0,
          },
        ]);
        expect(await store.sends.findByMessageId("m1")).toMatchObject({
          account: "acme",
          email: "alice@example.org",
          status: "sent",
          correlationId: "c1",
          at: T0,
        });
        expect(await store.sends.findByMessageId("nope")).toBeUndefined();
        const list = await store.sends.list("acme");
        expect(list.items.map((s) => s.messageId)).toEqual(["m2", "m1"]);
        expect(
          (await store.sends.list("acme", { email: "BOB@example.net" })).items.map((s) => s.status),
        ).toEqual(["rejected"]);
        expect((await store.sends.list("other")).items).toEqual([]);
      });

      it("pages newest first", async () => {
        for (let i = 0; i < 9; i++) {
          await store.sends.record([
            {
              account: "acme",
              email: `u${i}@example.com`,
              status: "sent",
              messageId: `m${i}`,
              rejectReason: null,
              transport: "smtp",
              correlationId: null,
              subject: null,
              at: T0 + i,
            },
          ]);
        }
        const first = await store.sends.list("acme", { limit: 4 });
        const second = await store.sends.list("acme", { limit: 4, after: first.next });
        const third = await store.sends.list("acme", { limit: 4, after: second.next });
        expect([...first.items, ...second.items, ...third.items].map((s) => s.messageId)).toEqual([
          "m8",
          "m7",
          "m6",
          "m5",
          "m4",
          "m3",
          "m2",
          "m1",
          "m0",
        ]);
        expect(third.next).toBeNull();
      });
    });

    describe("lifecycle", () => {
      it("migrates idempotently", async () => {
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

      it("rejects every call after close with ERR_MK_STORE_CLOSED", async () => {
        await store.close();
        await store.close();
        await rejectsWith(store.suppressions.check("acme", ["a@example.com"]), "ERR_MK_STORE_CLOSED");
        await rejectsWith(store.inbox.ingest({ account: "acme", events: [] }), "ERR_MK_STORE_CLOSED");
        await rejectsWith(store.credentials.get("acme"), "ERR_MK_STORE_CLOSED");
        await rejectsWith(store.sends.list("acme"), "ERR_MK_STORE_CLOSED");
      });
    });
  });
}
