import { createMemoryStore, type MetricsOptions, type Store } from "@mandrill-kit/core";
import { eventually } from "@mandrill-kit/core/testing";
import { addKey, type MandrillKitMiddleware, mandrillKit } from "@mandrill-kit/credentials";
import { createSender, type Sender } from "@mandrill-kit/sender";
import { DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestTelemetry, testTelemetry, valueAt } from "./harness.js";

const ACME = "acme";
const BROKEN = "broken";
const LOCAL_NETWORK = { allow: ["127.0.0.1"] };

let otel: TestTelemetry;
let sim: Simulator;
let store: Store;
let kit: MandrillKitMiddleware;
let sender: Sender;
let n = 0;
const email = (tag: string) => `${tag}-${process.pid}-${++n}@example.org`;

/** A kit on `kitStore` with ACME (a valid demo key) and BROKEN (an unknown key) saved, and its sender. */
async function kitWithSender(kitStore: Store, metrics: MetricsOptions) {
  const k = mandrillKit({
    store: kitStore,
    keys: addKey(undefined, "k1"),
    publicUrl: "https://app.example.com",
    metrics,
  });
  const settings = {
    transport: "api",
    username: "demo@example.com",
    fromEmail: "hello@example.com",
  } as const;
  await k.credentials.save(ACME, { ...settings, apiKey: DEMO_KEYS.valid });
  await k.credentials.save(BROKEN, { ...settings, apiKey: "md-unknown-key-0001" });
  const s = createSender({
    context: k.context,
    api: { baseUrl: sim.apiUrl, retryBaseMs: 5, retryMaxMs: 50, requestTimeoutMs: 300 },
    network: LOCAL_NETWORK,
  });
  return { kit: k, sender: s };
}

beforeAll(async () => {
  otel = testTelemetry();
  sim = await startSimulator({ flushIntervalMs: 0 });
  store = createMemoryStore();
  ({ kit, sender } = await kitWithSender(store, {
    meterProvider: otel.meterProvider,
    tracerProvider: otel.tracerProvider,
  }));
});

afterAll(async () => {
  await sender?.close();
  await sim?.close();
  await store?.close();
  await otel?.close();
});

describe("sender telemetry", () => {
  it("counts sends of every status by transport, Mandrill errors, retries and durations, with a span each", async () => {
    const text = { subject: "Hi", text: "x" };
    await sender.send(ACME, { to: email("sent"), ...text });
    await sender.send(ACME, { to: email("queued"), ...text, async: true });
    await sender.send(ACME, { to: email("sched"), ...text, sendAt: new Date(Date.now() + 86_400_000) });
    const listed = email("listed");
    sim.control.addReject({ email: listed, reason: "hard-bounce" });
    // One recipient rejected (and suppressed: a recipient-side reject), one sent.
    await sender.send(ACME, { to: [listed, email("fine")], ...text });
    // The address is now on the suppression list: never given to Mandrill.
    await sender.send(ACME, { to: [listed, email("other")], ...text });
    sim.control.fault({ kind: "service-unavailable", method: "messages/send", times: 1 });
    await sender.send(ACME, { to: email("retried"), ...text });
    sim.control.fault({ kind: "latency", ms: 2000, method: "messages/send", times: 1 });
    await sender.send(ACME, { to: email("slow"), ...text });
    await expect(sender.send(BROKEN, { to: email("never"), ...text })).rejects.toMatchObject({
      mandrillName: "Invalid_Key",
    });

    const transport = { "mandrill_kit.transport": "api", "mandrill_kit.send.kind": "message" };
    const recipients = await otel.points("mandrill_kit.sender.recipients");
    const status = (s: string) => valueAt(recipients, { ...transport, "mandrill_kit.recipient.status": s });
    expect(recipients).toHaveLength(6);
    expect([status("sent"), status("queued"), status("scheduled")]).toEqual([4, 1, 1]);
    expect([status("rejected"), status("suppressed"), status("unknown")]).toEqual([1, 1, 1]);
    const sends = await otel.points("mandrill_kit.sender.sends");
    expect(valueAt(sends, { ...transport, outcome: "sent" })).toBe(7);
    expect(valueAt(sends, { ...transport, outcome: "error" })).toBe(1);
    expect(sends).toHaveLength(2);
    expect(await otel.points("mandrill_kit.sender.errors")).toEqual([
      { attributes: { ...transport, "error.type": "Invalid_Key" }, value: 1 },
    ]);
    expect(await otel.points("mandrill_kit.sender.api.retries")).toEqual([
      { attributes: { "mandrill_kit.api.method": "messages/send" }, value: 1 },
    ]);
    const durations = await otel.points("mandrill_kit.sender.send.duration");
    expect(valueAt(durations, { ...transport, outcome: "sent" })).toMatchObject({ count: 7 });
    expect(await otel.points("mandrill_kit.suppressions.changes")).toEqual([
      {
        attributes: {
          "mandrill_kit.suppression.change": "added",
          "mandrill_kit.suppression.reason": "hard-bounce",
          "mandrill_kit.suppression.source": "send-result",
        },
        value: 1,
      },
    ]);
    expect(await otel.points("mandrill_kit.sender.smtp.pools")).toEqual([{ attributes: {}, value: 0 }]);

    const spans = otel.spans("mandrill_kit.sender.send");
    expect(spans).toHaveLength(8);
    expect(spans.filter((s) => s.status.code === 2).map((s) => s.attributes["mandrill_kit.account"])).toEqual(
      [BROKEN],
    );
  });

  it("counts a test email as a send of kind test, with its span, whether it passes or fails", async () => {
    const test = { "mandrill_kit.transport": "api", "mandrill_kit.send.kind": "test" };
    const count = async (name: string, attributes: Record<string, string>) =>
      Number(valueAt(await otel.points(name), attributes) ?? 0);
    const sendsBefore = await count("mandrill_kit.sender.sends", { ...test, outcome: "sent" });
    const errorsBefore = await count("mandrill_kit.sender.errors", { ...test, "error.type": "Invalid_Key" });
    const spansBefore = otel.spans("mandrill_kit.sender.send").length;

    expect(await sender.sendTestEmail(ACME, email("test-ok"))).toMatchObject({ ok: true });
    expect(await sender.sendTestEmail(BROKEN, email("test-refused"))).toMatchObject({
      ok: false,
      error: { code: "ERR_MK_MANDRILL_API" },
    });

    expect(await count("mandrill_kit.sender.sends", { ...test, outcome: "sent" })).toBe(sendsBefore + 1);
    expect(await count("mandrill_kit.sender.errors", { ...test, "error.type": "Invalid_Key" })).toBe(
      errorsBefore + 1,
    );
    const recipients = await otel.points("mandrill_kit.sender.recipients");
    expect(valueAt(recipients, { ...test, "mandrill_kit.recipient.status": "sent" })).toBeGreaterThanOrEqual(
      1,
    );
    const spans = otel.spans("mandrill_kit.sender.send").slice(spansBefore);
    expect(
      spans.map((s) => [s.attributes["mandrill_kit.account"], s.attributes["mandrill_kit.send.kind"]]),
    ).toEqual([
      [ACME, "test"],
      [BROKEN, "test"],
    ]);
    expect(spans.map((s) => s.status.code)).toEqual([0, 2]);
  });

  it("counts settings cache hits and misses, and decryption failures by code", async () => {
    const lookups = async () => {
      const points = await otel.points("mandrill_kit.credentials.cache.lookups");
      return [valueAt(points, { outcome: "hit" }) ?? 0, valueAt(points, { outcome: "miss" }) ?? 0];
    };
    const [hits, misses] = await lookups();
    kit.credentials.invalidate(ACME);
    await kit.credentials.get(ACME);
    await kit.credentials.get(ACME);
    expect(await lookups()).toEqual([(hits as number) + 1, (misses as number) + 1]);

    // A stored secret altered in the store: authenticated decryption refuses it.
    const record = await store.credentials.get(ACME);
    if (record === undefined) throw new Error("saved above");
    const secrets = Object.fromEntries(
      Object.entries(record.secrets).map(([field, jwe]) => [field, `${jwe.slice(0, -4)}AAAA`]),
    );
    await store.credentials.put(
      ACME,
      { settings: record.settings, secrets },
      { expectedVersion: record.version },
    );
    kit.credentials.invalidate(ACME);
    await expect(kit.credentials.get(ACME)).rejects.toMatchObject({ code: "ERR_MK_CRYPTO_DECRYPT_FAILED" });
    await eventually(
      async () => (await otel.points("mandrill_kit.credentials.decrypt.failures")).length === 1,
    );
    expect(await otel.points("mandrill_kit.credentials.decrypt.failures")).toEqual([
      { attributes: { "error.type": "ERR_MK_CRYPTO_DECRYPT_FAILED" }, value: 1 },
    ]);
  });

  it("with perAccount, keeps one series per account (and none without it)", async () => {
    const own = testTelemetry();
    const ownStore = createMemoryStore();
    const { sender: perAccountSender } = await kitWithSender(ownStore, {
      perAccount: true,
      meterProvider: own.meterProvider,
      tracerProvider: own.tracerProvider,
    });
    try {
      const text = { subject: "Hi", text: "x" };
      await perAccountSender.send(ACME, { to: email("per-account"), ...text });
      await perAccountSender.send(ACME, { to: email("per-account"), ...text });
      await expect(perAccountSender.send(BROKEN, { to: email("never"), ...text })).rejects.toMatchObject({
        mandrillName: "Invalid_Key",
      });
      const base = { "mandrill_kit.transport": "api", "mandrill_kit.send.kind": "message" };
      const sends = await own.points("mandrill_kit.sender.sends");
      expect(sends).toEqual([
        { attributes: { ...base, "mandrill_kit.account": ACME, outcome: "sent" }, value: 2 },
        { attributes: { ...base, "mandrill_kit.account": BROKEN, outcome: "error" }, value: 1 },
      ]);
      expect(await own.points("mandrill_kit.sender.recipients")).toEqual([
        {
          attributes: { ...base, "mandrill_kit.account": ACME, "mandrill_kit.recipient.status": "sent" },
          value: 2,
        },
      ]);
      expect(await own.points("mandrill_kit.sender.errors")).toEqual([
        { attributes: { ...base, "mandrill_kit.account": BROKEN, "error.type": "Invalid_Key" }, value: 1 },
      ]);
      const durations = await own.points("mandrill_kit.sender.send.duration");
      expect(durations.map((p) => p.attributes["mandrill_kit.account"])).toEqual([ACME, BROKEN]);
      // The shared handle (no perAccount) never carries the account on a metric.
      for (const name of [
        "mandrill_kit.sender.sends",
        "mandrill_kit.sender.recipients",
        "mandrill_kit.sender.errors",
      ])
        for (const point of await otel.points(name))
          expect(point.attributes).not.toHaveProperty("mandrill_kit.account");
    } finally {
      await perAccountSender.close();
      await ownStore.close();
      await own.close();
    }
  });
});
