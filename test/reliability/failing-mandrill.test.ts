import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SendResult } from "@mandrill-kit/core";
import { addKey, type MandrillKitMiddleware, mandrillKit } from "@mandrill-kit/credentials";
import { createSender, type Sender } from "@mandrill-kit/sender";
import { type FaultSpec, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { openSqliteStore, type SqliteStore } from "@mandrill-kit/sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "./helpers.js";
import { figure, SLICE, sizes } from "./sizes.js";

const ACME = "acme";
const BROKEN = "broken";
const SUPPRESSED = "gone@example.net";
const MAX_ATTEMPTS = 3;
const dir = mkdtempSync(join(tmpdir(), "mk-reliability-faults-"));
let sim: Simulator;
let store: SqliteStore;
let kit: MandrillKitMiddleware;
let sender: Sender;

beforeAll(async () => {
  sim = await startSimulator({ acceptAnyKey: (key) => !key.startsWith("invalid"), flushIntervalMs: 0 });
  store = openSqliteStore({ filename: join(dir, "faults.db") });
  kit = mandrillKit({ store, keys: addKey(undefined), publicUrl: "https://app.example.com" });
  const settings = { transport: "api" as const, username: "o@example.com", fromEmail: "hello@example.com" };
  await kit.credentials.save(ACME, { ...settings, apiKey: "md-faults-0123456789" });
  await kit.credentials.save(BROKEN, { ...settings, apiKey: "invalid-key-0123456789" });
  await store.suppressions.add({ account: ACME, email: SUPPRESSED, reason: "hard-bounce", source: "manual" });
  sender = createSender({
    context: kit.context,
    network: { allow: ["127.0.0.1"] }, // the local simulator (the sender refuses loopback by default)
    // requestTimeoutMs well under the latency fault: the answer comes after the sender gave up.
    api: {
      baseUrl: sim.apiUrl,
      retryBaseMs: 5,
      retryMaxMs: 50,
      requestTimeoutMs: 300,
      maxAttempts: MAX_ATTEMPTS,
    },
  });
});
afterAll(async () => {
  await sender?.close();
  await sim?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One injected condition and what the sender must do under it. */
interface Case {
  name: string;
  fault: FaultSpec | undefined;
  /** messages/send calls the sender may make. */
  calls: number;
  /** The fresh recipient's status, or "error" when send() must reject with a retryable error. */
  outcome: "sent" | "unknown" | "error";
}

const CASES: Case[] = [
  { name: "no fault", fault: undefined, calls: 1, outcome: "sent" },
  {
    name: "one 429",
    fault: { kind: "rate-limit", retryAfterSeconds: 0, method: "messages/send", times: 1 },
    calls: 2,
    outcome: "sent",
  },
  {
    name: "one 5xx ServiceUnavailable",
    fault: { kind: "service-unavailable", method: "messages/send", times: 1 },
    calls: 2,
    outcome: "sent",
  },
  {
    name: "two 5xx GeneralError",
    fault: { kind: "general-error", method: "messages/send", times: 2 },
    calls: 3,
    outcome: "sent",
  },
  {
    name: "persistent 429",
    fault: { kind: "rate-limit", retryAfterSeconds: 0, method: "messages/send" },
    calls: MAX_ATTEMPTS,
    outcome: "error",
  },
  {
    name: "persistent 5xx",
    fault: { kind: "service-unavailable", method: "messages/send" },
    calls: MAX_ATTEMPTS,
    outcome: "error",
  },
  {
    name: "reset after the request",
    fault: { kind: "reset", method: "messages/send", times: 3 },
    calls: 1,
    outcome: "unknown",
  },
  {
    name: "answer after the timeout",
    fault: { kind: "latency", ms: 1200, method: "messages/send", times: 3 },
    calls: 1,
    outcome: "unknown",
  },
];

describe(`slow or failing Mandrill (${SLICE}: ${sizes.faultSends} faulted sends)`, () => {
  it(`keeps the sender's guarantees over ${sizes.faultSends} sends under 429, 5xx, reset and timeout injection`, async () => {
    const tally: Record<string, number> = {};
    for (let i = 0; i < sizes.faultSends; i++) {
      const c = CASES[i % CASES.length] as Case;
      tally[c.name] = (tally[c.name] ?? 0) + 1;
      sim.control.clearFaults();
      sim.control.clearRecords();
      const handle = c.fault === undefined ? undefined : sim.control.fault(c.fault);
      const fresh = `r${i}-${process.pid}@example.org`;
      let result: SendResult | undefined;
      let error: unknown;
      try {
        result = await sender.send(ACME, { to: [fresh, SUPPRESSED], subject: c.name, text: "x" });
      } catch (e) {
        error = e;
      }
      // Requests that reached the simulator used up the fault (read before clearing it).
      const arrived = c.fault?.times === undefined ? undefined : c.fault.times - (handle?.remaining ?? 0);
      sim.control.clearFaults();
      // A delayed request is processed by the simulator after the sender gave up: wait for it.
      if (c.fault?.kind === "latency") {
        await eventually(
          () => sim.inspect.apiLog().filter((e) => e.method === "messages/send").length >= (arrived ?? 1),
        );
      }
      const calls = sim.inspect.apiLog().filter((e) => e.transport === "api" && e.method === "messages/send");
      const outbox = sim.inspect.outbox().flatMap((m) => m.recipients.map((r) => r.email));

      // Suppressed is never sent, whatever happens.
      expect(outbox, c.name).not.toContain(SUPPRESSED);
      // Retries only for retryable classes, and never after the request may have reached Mandrill.
      expect(calls.length, c.name).toBe(c.calls);
      // Never a double send.
      expect(outbox.filter((e) => e === fresh).length, c.name).toBeLessThanOrEqual(1);
      if (c.outcome === "error") {
        expect(error, c.name).toMatchObject({ retryable: true });
        expect(outbox, c.name).toEqual([]);
      } else {
        expect(error, c.name).toBeUndefined();
        expect(
          result?.recipients.map((r) => [r.email, r.status]),
          c.name,
        ).toEqual([
          [fresh, c.outcome],
          [SUPPRESSED, "suppressed"],
        ]);
        if (c.outcome === "sent") expect(outbox, c.name).toEqual([fresh]);
        // Every send is recorded, once, with the status the caller saw.
        await sender.flush();
        const recorded = await store.sends.list(ACME, { email: fresh, limit: 10 });
        expect(
          recorded.items.map((s) => s.status),
          c.name,
        ).toEqual([c.outcome]);
      }
    }

    // A non-retryable class (invalid key) is tried once, never retried.
    sim.control.clearRecords();
    await expect(sender.send(BROKEN, { to: "x@example.org", subject: "k", text: "x" })).rejects.toMatchObject(
      {
        retryable: false,
      },
    );
    expect(sim.inspect.apiLog().filter((e) => e.method === "messages/send")).toHaveLength(1);

    await sender.flush();
    const suppressedRecords = await store.sends.list(ACME, { email: SUPPRESSED, limit: 1000 });
    expect(suppressedRecords.items.filter((s) => s.status !== "suppressed")).toEqual([]);
    figure("failing Mandrill", { sends: sizes.faultSends, byCondition: tally, suppressedNeverSent: true });
  });
});
