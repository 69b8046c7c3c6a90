import { createMemoryStore, type Store } from "@mandrill-kit/core";
import { eventKey, parseMandrillEvents } from "@mandrill-kit/core/plugin";
import { manualClock } from "@mandrill-kit/core/testing";
import { addKey, type MandrillKitMiddleware, mandrillKit } from "@mandrill-kit/credentials";
import { createDispatcher, type MandrillWebhooks, mandrillWebhooks } from "@mandrill-kit/webhooks";
import { eventFixtures, signWebhook } from "@mandrill-kit/webhooks/testing";
import { propagation } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestTelemetry, testTelemetry, valueAt } from "./harness.js";

const PUBLIC_URL = "https://hooks.example.com";
const KEY = "whk-acme-0123456789abcdef";
const ACCOUNT = "acme";
const URL = `${PUBLIC_URL}/webhooks/mandrill/${ACCOUNT}`;
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN = "00f067aa0ba902b7";

let otel: TestTelemetry;
let store: Store;
let kit: MandrillKitMiddleware;
let webhooks: MandrillWebhooks;
const clock = manualClock();
const logs: { message: string; context: Record<string, unknown> }[] = [];
const logger = {
  debug: (context: Record<string, unknown>, message: string) => logs.push({ message, context }),
  info: (context: Record<string, unknown>, message: string) => logs.push({ message, context }),
  warn: (context: Record<string, unknown>, message: string) => logs.push({ message, context }),
  error: (context: Record<string, unknown>, message: string) => logs.push({ message, context }),
};

const sendEvent = eventFixtures.send({ email: "sent@example.com" });
const bounceEvent = eventFixtures.hard_bounce({ email: "bounced@example.com" });

beforeAll(async () => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  otel = testTelemetry();
  store = createMemoryStore();
  kit = mandrillKit({
    store,
    keys: addKey(undefined, "k1"),
    publicUrl: PUBLIC_URL,
    logger,
    metrics: { perAccount: true, meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider },
  });
  await kit.credentials.save(ACCOUNT, {
    transport: "api",
    username: "u@example.com",
    apiKey: "md-0123456789abcdefghij",
    fromEmail: "a@example.com",
    webhookKey: KEY,
  });
  webhooks = mandrillWebhooks({ clock, maxAttempts: 2, retryBaseMs: 1000, retryMaxMs: 1000 });
  let sendRuns = 0;
  webhooks.on("send", async () => {
    sendRuns += 1;
    if (sendRuns === 1) throw new Error("first run fails");
  });
  webhooks.on("hard_bounce", async () => {
    throw new Error("always fails");
  });
});

afterAll(async () => {
  propagation.disable();
  await webhooks?.close();
  await store?.close();
  await otel?.close();
});

function app() {
  const host = express();
  host.use(kit);
  host.use(webhooks);
  return host;
}

describe("webhook and dispatcher telemetry", () => {
  it("counts a signed batch with a duplicate and a bad signature, its suppression, and handler runs by outcome", async () => {
    const host = app();
    // One batch: a send, a hard bounce, and the send again (a duplicate within the batch).
    const signed = signWebhook({ key: KEY, url: URL, events: [sendEvent, bounceEvent, sendEvent] });
    const stored = await request(host)
      .post(`/webhooks/mandrill/${ACCOUNT}`)
      .set(signed.headers)
      .set("traceparent", `00-${TRACE_ID}-${PARENT_SPAN}-01`)
      .send(signed.body);
    expect(stored.body).toEqual({ received: 3, new: 2, duplicates: 1 });
    const forged = signWebhook({ key: "not-the-key-0123456789", url: URL, events: [sendEvent] });
    expect(
      (await request(host).post(`/webhooks/mandrill/${ACCOUNT}`).set(forged.headers).send(forged.body))
        .status,
    ).toBe(401);

    // Runs: send fails then succeeds; hard_bounce fails twice and is dead-lettered.
    expect(await webhooks.runDue()).toBe(2);
    clock.advance(2000);
    expect(await webhooks.runDue()).toBe(2);

    const account = { "mandrill_kit.account": ACCOUNT };
    expect(await otel.points("mandrill_kit.webhooks.batches")).toEqual([
      { attributes: { ...account, outcome: "accepted" }, value: 1 },
      { attributes: { outcome: "bad_signature" }, value: 1 },
    ]);
    const events = await otel.points("mandrill_kit.webhooks.events");
    expect(events).toHaveLength(3);
    expect(valueAt(events, { ...account, outcome: "accepted", "mandrill_kit.event.type": "send" })).toBe(1);
    expect(
      valueAt(events, { ...account, outcome: "accepted", "mandrill_kit.event.type": "hard_bounce" }),
    ).toBe(1);
    expect(valueAt(events, { ...account, outcome: "duplicate", "mandrill_kit.event.type": "send" })).toBe(1);
    expect(await otel.points("mandrill_kit.suppressions.changes")).toEqual([
      {
        attributes: {
          ...account,
          "mandrill_kit.suppression.change": "added",
          "mandrill_kit.suppression.reason": "hard-bounce",
          "mandrill_kit.suppression.source": "webhook",
        },
        value: 1,
      },
    ]);
    const ingest = await otel.points("mandrill_kit.webhooks.ingest.duration");
    expect(ingest).toEqual([
      { attributes: { ...account, outcome: "accepted" }, value: expect.objectContaining({ count: 1 }) },
    ]);

    const runs = await otel.points("mandrill_kit.dispatcher.runs");
    const type = (t: string, outcome: string) => ({ ...account, outcome, "mandrill_kit.event.type": t });
    expect(runs).toHaveLength(4);
    expect(valueAt(runs, type("send", "retry"))).toBe(1);
    expect(valueAt(runs, type("send", "ok"))).toBe(1);
    expect(valueAt(runs, type("hard_bounce", "retry"))).toBe(1);
    expect(valueAt(runs, type("hard_bounce", "dead_letter"))).toBe(1);
    const durations = await otel.points("mandrill_kit.dispatcher.run.duration");
    expect(durations.map((p) => (p.value as { count: number }).count)).toEqual([1, 1, 1, 1]);
  });

  it("traces the request (verify, ingest, reply) under the caller's W3C trace context, each run, and puts the trace id in the log lines", () => {
    const [stored, forged] = otel.spans("mandrill_kit.webhooks.request");
    expect(otel.spans("mandrill_kit.webhooks.request")).toHaveLength(2);
    expect(stored?.spanContext().traceId).toBe(TRACE_ID);
    expect(stored?.parentSpanContext?.spanId).toBe(PARENT_SPAN);
    expect(stored?.attributes).toMatchObject({
      "http.response.status_code": 200,
      "mandrill_kit.outcome": "accepted",
    });
    expect(forged?.attributes).toMatchObject({
      "http.response.status_code": 401,
      "mandrill_kit.outcome": "bad_signature",
    });
    const requestSpan = stored?.spanContext().spanId;
    const children = otel
      .spans()
      .filter((s) => s.spanContext().traceId === TRACE_ID && s.parentSpanContext?.spanId === requestSpan);
    expect(children.map((s) => s.name).sort()).toEqual([
      "mandrill_kit.webhooks.ingest",
      "mandrill_kit.webhooks.reply",
      "mandrill_kit.webhooks.verify",
    ]);
    const runs = otel.spans("mandrill_kit.dispatcher.run");
    expect(runs.map((s) => s.attributes["mandrill_kit.outcome"]).sort()).toEqual([
      "dead_letter",
      "ok",
      "retry",
      "retry",
    ]);
    expect(runs.filter((s) => s.status.code === 2)).toHaveLength(3);

    const batchLog = logs.find((l) => l.message === "webhook batch stored");
    expect(batchLog?.context.traceId).toBe(TRACE_ID);
    const deadLog = logs.find((l) => l.message.startsWith("handler failed 2 times; dead-lettered"));
    const deadRun = runs.find((s) => s.attributes["mandrill_kit.outcome"] === "dead_letter");
    expect(deadLog?.context.traceId).toBe(deadRun?.spanContext().traceId);
  });

  it("reports the store's backlog as gauges from a started dispatcher", async () => {
    const own = testTelemetry();
    const backlogStore = createMemoryStore();
    const at = manualClock();
    const events = parseMandrillEvents(JSON.stringify([sendEvent, bounceEvent]));
    if (!events.ok) throw new Error("fixtures parse");
    await backlogStore.inbox.ingest({
      account: ACCOUNT,
      receivedAt: at.now(),
      events: events.events.map((e) => ({
        key: eventKey(e),
        type: e.type,
        email: e.email,
        messageId: e.messageId,
        eventAt: null,
        raw: e.rawJson,
      })),
    });
    await backlogStore.inbox.claim({ limit: 1, now: at.now() });
    await backlogStore.inbox.fail(ACCOUNT, eventKey(events.events[0] as never), {
      error: "x",
      retryAt: null,
      now: at.now(),
    });
    at.advance(90_000);
    // No handler: a started dispatcher claims nothing, so the backlog stays as it is.
    const dispatcher = createDispatcher({
      store: backlogStore,
      clock: at,
      metrics: { meterProvider: own.meterProvider, tracerProvider: own.tracerProvider },
    });
    dispatcher.start();
    expect(await own.points("mandrill_kit.dispatcher.pending")).toEqual([{ attributes: {}, value: 1 }]);
    expect(await own.points("mandrill_kit.dispatcher.dead")).toEqual([{ attributes: {}, value: 1 }]);
    expect(await own.points("mandrill_kit.dispatcher.pending.oldest_age")).toEqual([
      { attributes: {}, value: 90 },
    ]);
    await dispatcher.close();
    await backlogStore.close();
    await own.close();
  });
});
