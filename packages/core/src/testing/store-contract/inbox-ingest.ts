import type { Store, SuppressionEffect } from "../../store.js";
import {
  DAY,
  event,
  rejectionChecker,
  type StoreContractApi,
  type StoreContractOptions,
  storePerTest,
  T0,
  webhookSuppression,
} from "./helpers.js";

/** New events stored once per account and key, exactly as received; invalid batches write nothing. */
function storing(api: StoreContractApi, store: Store): void {
  const { test, expect } = api;
  const rejectsWith = rejectionChecker(api.expect);
  test("stores new events, skips redelivered ones and reports which", async () => {
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

  test("dedupes per account: the same key in two accounts is two events", async () => {
    await store.inbox.ingest({ account: "a", events: [event("k")] });
    const other = await store.inbox.ingest({ account: "b", events: [event("k")] });
    expect(other.inserted).toEqual(["k"]);
  });

  test("is all or nothing: an invalid event in the batch writes nothing", async () => {
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

  test("refuses an event time that is not a safe integer, writing nothing", async () => {
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

  test("stores large raw events exactly", async () => {
    const raw = JSON.stringify({
      event: "inbound",
      msg: { raw_msg: "é✓\u0000".repeat(50_000), url: "https:\\/\\/x" },
    });
    await store.inbox.ingest({ account: "acme", events: [event("big", { type: "inbound", raw })] });
    expect((await store.inbox.get("acme", "big"))?.raw).toBe(raw);
  });

  test("stores an event given as UTF-8 bytes (rawUtf8) as that text; refuses bytes that are not UTF-8", async () => {
    const raw = JSON.stringify({ event: "send", _id: "id-u", msg: { subject: "Zoë — 📦 shipped" } });
    const bytes = new TextEncoder().encode(`  ${raw}  `).subarray(2, -2);
    await store.inbox.ingest({ account: "acme", events: [event("u", { raw, rawUtf8: bytes })] });
    expect((await store.inbox.get("acme", "u"))?.raw).toBe(raw);
    await rejectsWith(
      store.inbox.ingest({
        account: "acme",
        events: [event("ok"), event("bad", { rawUtf8: new Uint8Array([0x7b, 0xff, 0x7d]) })],
      }),
      "ERR_MK_VALIDATION_FAILED",
    );
    expect(await store.inbox.get("acme", "ok")).toBeUndefined();
  });
}

/** Suppression effects applied with the insert, once. */
function applyingEffects({ test, expect }: StoreContractApi, store: Store): void {
  test("applies suppression effects with the insert, once", async () => {
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

  test("suppresses after the threshold of soft bounces within the window, counted by event time", async () => {
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
    expect(await store.suppressions.check("acme", ["c@example.com"], { now: T0 + 9 * DAY })).toHaveLength(0);
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

  test("lifts through an effect, limited to the given sources", async () => {
    await store.suppressions.add({
      account: "acme",
      email: "s@example.com",
      reason: "hard-bounce",
      source: "sync",
      at: T0,
    });
    await store.suppressions.add(webhookSuppression("w@example.com", "hard-bounce"));
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
}

/** `inbox.ingest`: dedupe, suppression effects applied once and all or nothing, soft-bounce counting. */
export function inboxIngestContract(api: StoreContractApi, options: StoreContractOptions): void {
  api.describe("inbox", () => {
    const store = storePerTest(api, options);
    storing(api, store);
    applyingEffects(api, store);
  });
}
