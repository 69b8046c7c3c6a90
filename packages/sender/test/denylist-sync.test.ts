import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryStore, isMandrillKitError, type Store } from "@mandrill-kit/core";
import { manualClock } from "@mandrill-kit/core/testing";
import type { MandrillKitMiddleware } from "@mandrill-kit/credentials";
import { createSender, type Sender } from "@mandrill-kit/sender";
import { DEMO_KEYS, MAGIC_ADDRESSES, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { FAST_API, LOCAL_NETWORK, newKit } from "./helpers.js";

const ACME = "acme";
const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

interface Setup {
  sim: Simulator;
  store: Store;
  kit: MandrillKitMiddleware;
  sender: Sender;
  clock: ReturnType<typeof manualClock>;
}

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function setup(store: Store = createMemoryStore(), apiUrl?: string): Promise<Setup> {
  const clock = manualClock(T0);
  const sim = await startSimulator({ smtpPort: false, flushIntervalMs: 0, clock, exportDelayMs: 0 });
  open.push(
    () => sim.close(),
    () => store.close(),
  );
  const kit = newKit(store);
  await kit.credentials.save(ACME, {
    transport: "api",
    username: "demo@example.com",
    apiKey: DEMO_KEYS.valid,
    fromEmail: "hello@example.com",
    fromName: "Acme",
  });
  const sender = createSender({
    context: kit.context,
    api: { baseUrl: apiUrl ?? sim.apiUrl, ...FAST_API },
    network: LOCAL_NETWORK,
    clock,
  });
  open.push(() => sender.close());
  return { sim, store, kit, sender, clock };
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isMandrillKitError(error), String(error)).toBe(true);
  return error as { code: string; message: string };
}

/** Everything the account's list holds, in every state. */
async function everything(store: Store): Promise<unknown[]> {
  return (await store.suppressions.list(ACME, { status: "all", limit: 1000, now: T0 })).items;
}

describe("syncDenylist through rejects/list", () => {
  it("imports Mandrill's entries with its reasons and expiry, source mandrill-sync", async () => {
    const { sim, store, sender } = await setup();
    sim.control.addReject({ email: "bob@example.net", detail: "asked" });
    sim.control.addReject({ email: "carol@example.net", reason: "hard-bounce", detail: "550" });
    const report = await sender.syncDenylist(ACME);
    expect(report).toMatchObject({
      imported: 2,
      updated: 0,
      unchanged: 0,
      onlyLocal: 0,
      onlyMandrill: 0,
      expiredSkipped: 0,
      via: { denylist: "list", allowlist: "list" },
    });
    expect(report.durationMs).toBeGreaterThanOrEqual(0);
    expect(await store.suppressions.get(ACME, "bob@example.net")).toMatchObject({
      reason: "custom",
      source: "mandrill-sync",
      detail: "asked",
      expiresAt: null,
    });
    expect(await store.suppressions.get(ACME, "carol@example.net")).toMatchObject({
      reason: "hard-bounce",
      expiresAt: T0 + 7 * DAY,
    });
    expect(await store.suppressions.mandrillSyncState(ACME)).toMatchObject({ syncedAt: T0 });
  });

  it("puts the first hard bounce, sent before any webhook was registered, on the local list", async () => {
    const { sim, store, sender } = await setup();
    await sender.send(ACME, { to: MAGIC_ADDRESSES.hardBounce, subject: "Hi", text: "x" });
    expect(sim.inspect.events({ type: "hard_bounce" })).toHaveLength(1);
    expect(await store.suppressions.get(ACME, MAGIC_ADDRESSES.hardBounce)).toBeUndefined();
    await sender.syncDenylist(ACME);
    expect(await store.suppressions.check(ACME, [MAGIC_ADDRESSES.hardBounce], { now: T0 })).toMatchObject([
      { reason: "hard-bounce", source: "mandrill-sync" },
    ]);
  });
});

describe("syncDenylist through exports", () => {
  it("syncs 25,000 entries (mixed reasons, some expired, some allowlisted) into SQLite; a second run changes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mk-denylist-sync-"));
    open.push(async () => rmSync(dir, { recursive: true, force: true }));
    const store = openSqliteStore({ filename: join(dir, "kit.db") });
    const { sim, sender, clock } = await setup(store);
    const reasons = ["hard-bounce", "spam", "unsub", "custom"] as const;
    for (let i = 0; i < 5000; i++)
      sim.control.addReject({ email: `soft${i}@example.net`, reason: "soft-bounce" });
    clock.advance(2 * DAY); // the soft bounces expire at Mandrill
    for (let i = 0; i < 20_000; i++) {
      sim.control.addReject({ email: `user${i}@example.net`, reason: reasons[i % 4] ?? "custom" });
    }
    // Addresses a sync event put on the local list, which Mandrill now allowlists.
    for (let i = 0; i < 300; i++) {
      await store.suppressions.add({
        account: ACME,
        email: `vip${i}@example.net`,
        reason: "spam",
        source: "sync",
        at: T0,
      });
      await sender.api.call("allowlists/add", DEMO_KEYS.valid, { email: `vip${i}@example.net` });
    }
    await store.suppressions.add({
      account: ACME,
      email: "local@example.net",
      reason: "unsub",
      source: "manual",
      at: T0,
    });

    const first = await sender.syncDenylist(ACME, { pollMs: 5 });
    expect(first).toMatchObject({
      via: { denylist: "export", allowlist: "list" },
      imported: 20_000,
      updated: 0,
      expiredSkipped: 5000,
      lifted: 300,
      onlyLocal: 1,
      onlyMandrill: 0,
      read: 25_300,
    });
    const now = clock.now();
    expect(await store.suppressions.count(ACME, { source: "mandrill-sync", now })).toBe(20_000);
    expect(await store.suppressions.count(ACME, { reason: "spam", now })).toBe(5000);
    expect(await store.suppressions.get(ACME, "vip7@example.net")).toMatchObject({
      liftedBy: "mandrill-sync",
    });

    const second = await sender.syncDenylist(ACME, { pollMs: 5 });
    expect(second).toMatchObject({
      imported: 0,
      updated: 0,
      lifted: 0,
      unchanged: 20_300,
      expiredSkipped: 5000,
    });
    const drift = await store.suppressions.drift(ACME, { side: "local", now });
    expect(drift.items.map((d) => d.email)).toEqual(["local@example.net"]);
  }, 180_000);

  it.each([
    ["export-error", 'ended in state "error"'],
    ["export-stall", 'still "working" when the sync\'s deadline passed'],
  ] as const)(
    "gives a clear error and leaves the list as it was when the job has %s",
    async (kind, words) => {
      const { sim, store, sender } = await setup();
      await store.suppressions.add({
        account: ACME,
        email: "kept@example.net",
        reason: "spam",
        source: "webhook",
        at: T0,
      });
      sim.control.addReject({ email: "new@example.net" });
      const before = await everything(store);
      sim.control.fault({ kind, times: 1 });
      const error = await failure(sender.syncDenylist(ACME, { via: "export", deadlineMs: 300, pollMs: 10 }));
      expect(error.code).toBe("ERR_MK_DENYLIST_EXPORT_FAILED");
      expect(error.message).toContain(words);
      expect(error.message).toContain("Nothing was changed");
      expect(await everything(store)).toEqual(before);
      expect(await store.suppressions.mandrillSyncState(ACME)).toBeUndefined();
    },
  );

  it.each([
    [
      "a missing column",
      "email,detail,created_at\nbob@example.net,x,2026-01-01 00:00:00\n",
      /line 1.*missing column\(s\) reason, expires_at/,
    ],
    [
      "a bad address",
      "email,reason,detail,created_at,expires_at,last_event_at\nok@example.net,spam,,2025-12-01 00:00:00,,\nnot-an-address,spam,,2025-12-01 00:00:00,,\n",
      /rejects\.csv, line 3.*"not-an-address" is not an address/,
    ],
    [
      "a bad date",
      "email,reason,detail,created_at,expires_at,last_event_at\nok@example.net,spam,,yesterday,,\n",
      /line 2.*created_at "yesterday" is not a date/,
    ],
    ["a truncated zip", null, /zip/],
  ])("refuses %s, naming the line or the reason, and leaves nothing behind", async (_label, csv, pattern) => {
    const { sim, store, sender } = await setup();
    await store.suppressions.add({
      account: ACME,
      email: "kept@example.net",
      reason: "spam",
      source: "webhook",
      at: T0,
    });
    for (let i = 0; i < 20; i++) sim.control.addReject({ email: `r${i}@example.net` });
    const before = await everything(store);
    sim.control.fault(
      csv === null ? { kind: "export-truncate", times: 1 } : { kind: "export-csv", csv, times: 1 },
    );
    const error = await failure(sender.syncDenylist(ACME, { via: "export", pollMs: 5 }));
    expect(error.code).toBe("ERR_MK_DENYLIST_EXPORT_INVALID");
    expect(error.message).toMatch(pattern);
    expect(await everything(store)).toEqual(before);
    expect(await store.suppressions.mandrillSyncState(ACME)).toBeUndefined();
  });
});

describe("the export download and the network policy", () => {
  let fake: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (fake ? fake.close(() => resolve()) : resolve()));
    fake = undefined;
  });

  it("refuses a result_url whose address the network policy does not allow, connecting nowhere", async () => {
    // An API answering like Mandrill, but with a result_url on the cloud metadata address.
    fake = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(
          JSON.stringify({
            id: "job-1",
            state: "complete",
            type: "reject",
            result_url: "http://169.254.169.254/latest/meta-data/export.zip",
          }),
        );
      });
    });
    await new Promise<void>((resolve) => fake?.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/api/1.0/`;
    const { store, sender } = await setup(createMemoryStore(), url);
    const error = await failure(sender.syncDenylist(ACME, { via: "export" }));
    expect(error.code).toBe("ERR_MK_NETWORK_REFUSED");
    expect(await everything(store)).toEqual([]);
  });
});

describe("one sync of an account at a time", () => {
  const methods = (sim: Simulator) => sim.inspect.apiLog().map((e) => e.method);

  it("gives a second call with the same options the running sync's report: Mandrill is read once", async () => {
    const { sim, store, sender } = await setup();
    sim.control.addReject({ email: "bob@example.net" });
    const [first, second] = await Promise.all([sender.syncDenylist(ACME), sender.syncDenylist(ACME)]);
    expect(second).toBe(first);
    expect(methods(sim).filter((m) => m === "rejects/list")).toHaveLength(1);
    expect(first.imported).toBe(1);
    expect(await everything(store)).toHaveLength(1);
    // Once it has finished, a new call syncs again.
    await sender.syncDenylist(ACME);
    expect(methods(sim).filter((m) => m === "rejects/list")).toHaveLength(2);
  });

  it("runs a call with other options after the running one, never side by side", async () => {
    const { sim, sender } = await setup();
    sim.control.addReject({ email: "bob@example.net" });
    const [listed, exported] = await Promise.all([
      sender.syncDenylist(ACME, { via: "list" }),
      sender.syncDenylist(ACME, { via: "export" }),
    ]);
    expect(listed.via).toEqual({ denylist: "list", allowlist: "list" });
    expect(exported.via).toEqual({ denylist: "export", allowlist: "export" });
    expect(exported.unchanged).toBe(1);
    // The second sync started reading only after the first had read both lists.
    const log = methods(sim);
    expect(log.indexOf("exports/rejects")).toBeGreaterThan(log.lastIndexOf("allowlists/list"));
  });

  it("lets a sync that failed free the account for the next call", async () => {
    const { sim, sender } = await setup();
    sim.control.addReject({ email: "bob@example.net" });
    sim.control.fault({ kind: "service-unavailable", method: "rejects/list", times: 10 });
    await failure(sender.syncDenylist(ACME, { via: "list" }));
    sim.control.clearFaults();
    expect((await sender.syncDenylist(ACME, { via: "list" })).imported).toBe(1);
  });
});
