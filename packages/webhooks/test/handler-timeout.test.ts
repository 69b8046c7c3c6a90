import { createMemoryStore, type Store } from "@mandrill-kit/core";
import { eventKey, parseMandrillEvents } from "@mandrill-kit/core/plugin";
import { eventually, manualClock } from "@mandrill-kit/core/testing";
import {
  createDispatcher,
  type Dispatcher,
  type ErrorInfo,
  type HandlerContext,
  HandlerTimeoutError,
  ingestEvents,
} from "@mandrill-kit/webhooks";
import { eventFixtures, mandrillJson } from "@mandrill-kit/webhooks/testing";
import { afterEach, describe, expect, it } from "vitest";
import { gate } from "./helpers.js";

const gates: (() => void)[] = [];
const closables: (Dispatcher | Store)[] = [];
afterEach(async () => {
  for (const open of gates.splice(0)) open();
  for (const c of closables.splice(0)) await c.close();
});

const TIMEOUT_MS = 1000;
/** A held event's retry time is pushed forward by this much (timeout + 30 s margin) while its run goes on. */
const HOLD_MS = TIMEOUT_MS + 30_000;

async function setup(maxAttempts = 3) {
  const clock = manualClock();
  const store = createMemoryStore();
  closables.push(store);
  const events = [eventFixtures.hard_bounce({ email: "bounced@example.com" })];
  await ingestEvents({
    store,
    account: "acme",
    mandrillEvents: mandrillJson(events),
    receivedAt: clock.now(),
  });
  const parsed = parseMandrillEvents(mandrillJson(events));
  const key = parsed.ok ? eventKey(parsed.events[0] as never) : "";
  const dispatcher = (pollIntervalMs: number) => {
    const d = createDispatcher({
      store,
      clock,
      handlerTimeoutMs: TIMEOUT_MS,
      retryBaseMs: 100,
      retryMaxMs: 100,
      pollIntervalMs,
      maxAttempts,
    });
    closables.unshift(d);
    return d;
  };
  const record = async () => store.inbox.get("acme", key);
  return { clock, store, key, dispatcher, record };
}

describe("a handler that runs longer than handlerTimeoutMs", () => {
  it("has its context.signal aborted with a HandlerTimeoutError, and onError is told it will retry", async () => {
    const { clock, dispatcher } = await setup();
    const here = dispatcher(5);
    const contexts: HandlerContext[] = [];
    const errors: { error: Error; info: ErrorInfo }[] = [];
    here.on("hard_bounce", (_event, context) => {
      contexts.push(context);
      return gate(gates).wait;
    });
    here.onError((error, info) => {
      errors.push({ error, info });
    });
    here.start();
    await eventually(() => contexts.length === 1);
    expect(contexts[0]?.signal.aborted).toBe(false);

    clock.advance(TIMEOUT_MS);
    await eventually(() => contexts[0]?.signal.aborted === true);
    expect(contexts[0]?.signal.reason).toBeInstanceOf(HandlerTimeoutError);
    await eventually(() => errors.length === 1);
    expect(errors[0]?.error).toMatchObject({ code: "ERR_MK_WEBHOOK_HANDLER_TIMEOUT", timeoutMs: TIMEOUT_MS });
    expect(errors[0]?.info).toMatchObject({ attempt: 1, willRetry: true });
  });

  it("never overlaps its own retry, in this process or another, however long it keeps running", async () => {
    const { clock, dispatcher, record } = await setup();
    const here = dispatcher(5);
    // Another process on the same store: it only claims when the test says so (runDue).
    const elsewhere = dispatcher(3_600_000);
    const stuck = gate(gates);
    const signals: AbortSignal[] = [];
    let running = 0;
    let most = 0;
    const handler = async (_event: unknown, context: HandlerContext) => {
      signals.push(context.signal);
      running++;
      most = Math.max(most, running);
      try {
        if (context.attempt === 1) await stuck.wait; // ignores its signal: settles only when let go
      } finally {
        running--;
      }
    };
    here.on("hard_bounce", handler);
    elsewhere.on("hard_bounce", handler);
    here.start();
    await eventually(() => signals.length === 1);
    clock.advance(TIMEOUT_MS);
    await eventually(() => signals[0]?.aborted === true);

    // A minute of clock time, far past every retry delay, while the first run is still going: the
    // hold is renewed before it lapses, and neither process starts the retry.
    for (let step = 0; step < 6; step++) {
      await eventually(async () => ((await record())?.nextAttemptAt ?? 0) - clock.now() > HOLD_MS / 2, {
        what: "the hold to be renewed",
      });
      clock.advance(10_000);
      expect(await elsewhere.runDue()).toBe(0);
      expect(await here.runDue()).toBe(0);
    }
    expect(signals).toHaveLength(1);
    expect((await record())?.lastError).toMatch(/still running/);

    // The run settles: only now is the retry scheduled, and it runs once.
    stuck.open();
    await eventually(
      async () => ((await record())?.nextAttemptAt ?? Number.POSITIVE_INFINITY) <= clock.now() + 120,
    );
    clock.advance(120);
    await eventually(async () => (await record())?.state === "done");
    expect(signals).toHaveLength(2);
    expect(most).toBe(1);
    expect((await record())?.attempts).toBe(2);
  });

  it("is retried right after it settles when it honours its signal", async () => {
    const { clock, dispatcher, record } = await setup();
    const here = dispatcher(5);
    const attempts: number[] = [];
    here.on("hard_bounce", (_event, context) => {
      attempts.push(context.attempt);
      if (context.attempt > 1) return undefined;
      return new Promise((_resolve, reject) => {
        context.signal.addEventListener("abort", () => reject(context.signal.reason));
      });
    });
    here.start();
    await eventually(() => attempts.length === 1);
    clock.advance(TIMEOUT_MS);
    // Its retry is scheduled from the moment it settled (a retry delay of ~100 ms), not held.
    await eventually(async () => {
      const r = await record();
      return r?.lastError?.includes("still running") === false && (r.nextAttemptAt ?? 0) > clock.now();
    });
    expect((await record())?.lastError).toMatch(/did not finish within 1000 ms/);
    expect(((await record())?.nextAttemptAt ?? 0) - clock.now()).toBeLessThanOrEqual(120);
    clock.advance(120);
    await eventually(async () => (await record())?.state === "done");
    expect(attempts).toEqual([1, 2]);
  });

  it("dead-letters a run that times out on its last attempt at once, and close() waits for it to settle", async () => {
    const { clock, dispatcher, record } = await setup(1);
    const here = dispatcher(5);
    const stuck = gate(gates);
    let finished = false;
    here.on("hard_bounce", async () => {
      await stuck.wait;
      finished = true;
    });
    const willRetry: boolean[] = [];
    here.onError((_error, info) => {
      willRetry.push(info.willRetry);
    });
    here.start();
    await eventually(async () => (await record())?.attempts === 1);
    clock.advance(TIMEOUT_MS);
    await eventually(async () => (await record())?.state === "dead");
    expect(willRetry).toEqual([false]);
    const closing = here.close().then(() => finished);
    stuck.open();
    expect(await closing).toBe(true);
  });
});
