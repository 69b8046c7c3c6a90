import { createMemoryStore, type Logger, type SendRecordInput, type Store } from "@mandrill-kit/core";
import { componentLogger } from "@mandrill-kit/core/plugin";
import { createSender, type Sender } from "@mandrill-kit/sender";
import { DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecordQueue } from "../src/record-queue.js";
import { FAST_API, LOCAL_NETWORK, newKit, uniqueEmail } from "./helpers.js";

/** A store whose `sends.record` calls are counted, and can be held or made to fail. */
function instrumented(base: Store = createMemoryStore()) {
  const calls: number[] = [];
  let gate: Promise<void> | undefined;
  let failWith: Error | undefined;
  const store: Store = {
    ...base,
    sends: {
      ...base.sends,
      record: async (entries) => {
        calls.push(entries.length);
        if (gate !== undefined) await gate;
        if (failWith !== undefined) throw failWith;
        return base.sends.record(entries);
      },
    },
  };
  return {
    store,
    calls,
    hold(): () => void {
      let release = () => {};
      gate = new Promise<void>((resolve) => {
        release = () => {
          gate = undefined;
          resolve();
        };
      });
      return release;
    },
    fail(error: Error | undefined) {
      failWith = error;
    },
  };
}

function capture(): Logger & { errors: { ctx: unknown; msg: string }[] } {
  const errors: { ctx: unknown; msg: string }[] = [];
  const none = () => {};
  return {
    errors,
    debug: none,
    info: none,
    warn: none,
    error: (ctx: unknown, msg?: string) => {
      errors.push({ ctx, msg: msg ?? "" });
    },
  } as Logger & { errors: { ctx: unknown; msg: string }[] };
}

const record = (n: number, account = "acme"): SendRecordInput => ({
  account,
  email: `r${n}@example.org`,
  status: "sent",
  messageId: `m-${n}`,
  rejectReason: null,
  transport: "api",
  correlationId: `c-${n}`,
  subject: "Hi",
  at: 1_700_000_000_000 + n,
});

const WINDOW_MS = 20;
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The queue's window timer, run by hand: `fire()` is "the window has passed". */
function manualTimer() {
  const due: { fn: () => void; ms: number }[] = [];
  return {
    schedule: (fn: () => void, ms: number) => {
      due.push({ fn, ms });
    },
    /** Windows started and not yet fired, with their lengths. */
    windows: () => due.map((d) => d.ms),
    fire() {
      for (const { fn } of due.splice(0)) fn();
    },
  };
}

function queueWith(s: ReturnType<typeof instrumented>, options: { maxPending?: number } = {}) {
  const timer = manualTimer();
  const queue = createRecordQueue(s.store, componentLogger(capture(), { component: "sender" }), {
    windowMs: WINDOW_MS,
    schedule: timer.schedule,
    ...options,
  });
  return { queue, timer };
}

describe("createRecordQueue", () => {
  it("writes everything added within its window in one store call, once the window has passed", async () => {
    const s = instrumented();
    const { queue, timer } = queueWith(s);
    await queue.add([record(0)]);
    for (let i = 1; i < 16; i++) {
      await tick();
      await queue.add([record(i)]);
    }
    expect(timer.windows()).toEqual([WINDOW_MS]);
    expect(s.calls).toEqual([]);
    expect(queue.pending).toBe(16);
    timer.fire();
    expect(s.calls).toEqual([16]);
    expect(queue.pending).toBe(0);
    await queue.flush();
    expect((await s.store.sends.list("acme", { limit: 100 })).items).toHaveLength(16);
  });

  it("takes what arrives during a write into the next write, and flush waits for both", async () => {
    const s = instrumented();
    const { queue, timer } = queueWith(s);
    const release = s.hold();
    await queue.add([record(1)]);
    timer.fire();
    expect(s.calls).toEqual([1]);
    await queue.add([record(2), record(3)]);
    timer.fire();
    // Still one write in flight: the new records wait for it instead of starting a second one.
    expect(s.calls).toEqual([1]);
    let flushed = false;
    const flushing = queue.flush().then(() => {
      flushed = true;
    });
    await tick();
    expect(flushed).toBe(false);
    release();
    await flushing;
    expect(s.calls).toEqual([1, 2]);
    expect((await s.store.sends.list("acme")).items.map((r) => r.messageId)).toEqual(["m-3", "m-2", "m-1"]);
  });

  it("makes add wait once maxPending records are queued behind a slow store (bounded memory)", async () => {
    const s = instrumented();
    const { queue, timer } = queueWith(s, { maxPending: 4 });
    const release = s.hold();
    await queue.add([record(1)]);
    timer.fire();
    await queue.add([record(2), record(3)]);
    let added = false;
    const adding = queue.add([record(4), record(5)]).then(() => {
      added = true;
    });
    timer.fire();
    await tick();
    expect(added).toBe(false);
    expect(queue.pending).toBe(4);
    release();
    await adding;
    expect(queue.pending).toBe(0);
    expect(s.calls).toEqual([1, 4]);
  });

  it("logs a failed write with accounts and counts, and carries on with the next records", async () => {
    const s = instrumented();
    const logger = capture();
    const queue = createRecordQueue(s.store, componentLogger(logger, { component: "sender" }));
    s.fail(new Error("disk full"));
    await queue.add([record(1, "acme"), record(2, "beta")]);
    await queue.flush();
    expect(logger.errors).toHaveLength(1);
    expect(logger.errors[0]?.msg).toBe("could not record sends");
    expect(logger.errors[0]?.ctx).toMatchObject({ accounts: ["acme", "beta"], records: 2 });
    s.fail(undefined);
    await queue.add([record(3)]);
    await queue.flush();
    expect((await s.store.sends.list("acme")).items.map((r) => r.messageId)).toEqual(["m-3"]);
  });
});

describe("the sender's send records (against the simulator)", () => {
  let sim: Simulator;
  let sender: Sender;
  let s: ReturnType<typeof instrumented>;

  beforeAll(async () => {
    sim = await startSimulator({ flushIntervalMs: 0, smtpPort: false });
    s = instrumented();
    const kit = newKit(s.store);
    await kit.credentials.save("acme", {
      transport: "api",
      username: "demo@example.com",
      apiKey: DEMO_KEYS.valid,
      fromEmail: "hello@example.com",
    });
    sender = createSender({
      context: kit.context,
      api: { baseUrl: sim.apiUrl, ...FAST_API },
      network: LOCAL_NETWORK,
    });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it("groups the records of concurrent sends into fewer writes, all present after flush", async () => {
    const to = Array.from({ length: 16 }, (_, i) => uniqueEmail(`group${i}`));
    const before = s.calls.length;
    const results = await Promise.all(to.map((email) => sender.send("acme", { to: email, text: "x" })));
    await sender.flush();
    const writes = s.calls.slice(before);
    expect(writes.reduce((a, b) => a + b, 0)).toBe(16);
    expect(writes.length).toBeLessThan(16);
    for (const [i, r] of results.entries()) {
      const recorded = await s.store.sends.findByMessageId(r.recipients[0]?.messageId as string);
      expect(recorded).toMatchObject({ account: "acme", email: to[i], status: "sent" });
    }
  });

  it("writes pending records on close", async () => {
    const email = uniqueEmail("closing");
    const release = s.hold();
    const result = await sender.send("acme", { to: email, text: "x" });
    const closing = sender.close();
    release();
    await closing;
    expect(await s.store.sends.findByMessageId(result.recipients[0]?.messageId as string)).toMatchObject({
      email,
      status: "sent",
    });
  });
});
