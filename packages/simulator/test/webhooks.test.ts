import { DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { callApi, eventually, formOf, type Receiver, startReceiver } from "./helpers.js";

const KEY = DEMO_KEYS.valid;
let sim: Simulator | undefined;
let receiver: Receiver;

beforeEach(async () => {
  receiver = await startReceiver();
});

afterEach(async () => {
  await sim?.close();
  sim = undefined;
  await receiver.close();
});

async function start(options: Parameters<typeof startSimulator>[0] = {}): Promise<Simulator> {
  sim = await startSimulator({ smtpPort: false, flushIntervalMs: 0, ...options });
  return sim;
}

async function addHook(s: Simulator, events: string[] = ["send", "hard_bounce", "blacklist"]) {
  const res = await callApi(s.apiUrl, "webhooks/add", {
    key: KEY,
    url: receiver.url,
    description: "test",
    events,
  });
  expect(res.status).toBe(200);
  return res.body as { id: number; auth_key: string };
}

async function sendTo(s: Simulator, emails: string[]) {
  return (
    await callApi(s.apiUrl, "messages/send", {
      key: KEY,
      message: { from_email: "a@example.com", to: emails.map((email) => ({ email })) },
    })
  ).body as Array<{ _id: string; status: string }>;
}

function batchesOf(r: Receiver): Array<Array<{ event?: string; type?: string }>> {
  return r.posts().map((p) => JSON.parse(formOf(p.body).mandrill_events ?? "[]"));
}

describe("webhooks/add — URL validation (docs/mandrill.md#webhook-url-validation)", () => {
  it("accepts a URL whose HEAD answers 200, without a POST, and returns the key", async () => {
    const s = await start();
    const hook = await addHook(s);
    expect(hook.auth_key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(receiver.requests.map((r) => r.method)).toEqual(["HEAD"]);
    expect(receiver.requests[0]?.headers["user-agent"]).toBe("Mandrill-Webhook/1.0");
  });

  it("falls back to the [] POST signed with test-webhook when HEAD is not 200", async () => {
    const s = await start();
    receiver.respond((r) => (r.method === "HEAD" ? 404 : 200));
    await addHook(s);
    expect(receiver.requests.map((r) => r.method)).toEqual(["HEAD", "POST"]);
    expect(formOf(receiver.requests[1]?.body ?? "")).toEqual({ mandrill_events: "[]" });
    expect(s.inspect.deliveries().map((d) => `${d.kind}:${d.status}`)).toEqual([
      "validation-head:404",
      "validation-post:200",
    ]);
  });

  it("refuses the URL with a ValidationError when both fail, and creates nothing", async () => {
    const s = await start();
    receiver.respond(() => 404);
    const res = await callApi(s.apiUrl, "webhooks/add", { key: KEY, url: receiver.url, events: ["send"] });
    expect(res.body).toMatchObject({ status: "error", name: "ValidationError" });
    expect((res.body as { message: string }).message).toMatch(
      /HEAD request got HTTP 404.*POST.*got HTTP 404/,
    );
    expect((await callApi(s.apiUrl, "webhooks/list", { key: KEY })).body).toEqual([]);
  });

  it("refuses unreachable URLs, unknown event names and non-loopback hosts", async () => {
    const s = await start();
    await receiver.close();
    const down = await callApi(s.apiUrl, "webhooks/add", { key: KEY, url: receiver.url, events: ["send"] });
    expect((down.body as { message: string }).message).toMatch(/ECONNREFUSED/);
    const badEvent = await callApi(s.apiUrl, "webhooks/add", {
      key: KEY,
      url: receiver.url,
      events: ["bounce"],
    });
    expect((badEvent.body as { message: string }).message).toMatch(/"bounce" is not one of/);
    const remote = await callApi(s.apiUrl, "webhooks/add", {
      key: KEY,
      url: "https://hooks.example.com/x",
      events: ["send"],
    });
    expect((remote.body as { message: string }).message).toMatch(/only posts webhooks to loopback/);
    expect(s.inspect.deliveries().filter((d) => d.postedTo.includes("example.com"))).toEqual([]);
    receiver = await startReceiver();
  });

  it("update re-validates a changed URL; delete returns the webhook and stops deliveries", async () => {
    const s = await start();
    const hook = await addHook(s);
    const other = await startReceiver("/other");
    try {
      const updated = await callApi(s.apiUrl, "webhooks/update", {
        key: KEY,
        id: hook.id,
        url: other.url,
        events: ["send"],
      });
      expect(updated.body).toMatchObject({
        id: hook.id,
        url: other.url,
        events: ["send"],
        auth_key: hook.auth_key,
      });
      expect(other.requests.map((r) => r.method)).toEqual(["HEAD"]);
      const deleted = await callApi(s.apiUrl, "webhooks/delete", { key: KEY, id: hook.id });
      expect(deleted.body).toMatchObject({ id: hook.id, url: other.url });
      await sendTo(s, ["a@example.org"]);
      await s.control.flushWebhooks();
      expect(other.posts()).toEqual([]);
      const info = await callApi(s.apiUrl, "webhooks/info", { key: KEY, id: hook.id });
      expect(info.body).toMatchObject({ name: "Unknown_Webhook", message: `Unknown hook ID ${hook.id}` });
    } finally {
      await other.close();
    }
  });
});

describe("batches", () => {
  it("posts only the event types the webhook subscribed to", async () => {
    const s = await start();
    await addHook(s, ["hard_bounce"]);
    await sendTo(s, ["a@example.org", "hard_bounce@test.mandrillapp.com"]);
    await s.control.flushWebhooks();
    expect(
      batchesOf(receiver)
        .flat()
        .map((e) => e.event ?? e.type),
    ).toEqual(["hard_bounce"]);
  });

  it("never posts more than 1,000 events in one request, and counts batches and events", async () => {
    const s = await start({ flushIntervalMs: 60_000 });
    const hook = await addHook(s, ["send"]);
    for (let i = 0; i < 5; i++) {
      await sendTo(
        s,
        Array.from({ length: 500 }, (_, j) => `r${i}-${j}@example.org`),
      );
    }
    await eventually(() => s.inspect.events({ type: "send" }).length === 2500);
    expect(receiver.posts()).toEqual([]);
    await s.control.flushWebhooks();
    expect(batchesOf(receiver).map((b) => b.length)).toEqual([1000, 1000, 500]);
    const info = (await callApi(s.apiUrl, "webhooks/info", { key: KEY, id: hook.id })).body;
    expect(info).toMatchObject({
      batches_sent: 3,
      events_sent: 2500,
      last_error: null,
      last_sent_at: expect.any(String),
    });
  });

  it("posts on its own after flushIntervalMs", async () => {
    const s = await start({ flushIntervalMs: 20 });
    await addHook(s, ["send"]);
    await sendTo(s, ["a@example.org", "b@example.org"]);
    await eventually(() => receiver.posts().length === 1);
    expect(batchesOf(receiver)[0]).toHaveLength(2);
  });
});

describe("retries and give-up (docs/mandrill.md#webhook-retries)", () => {
  it("retries a failed batch on the schedule with the same body, then succeeds", async () => {
    const s = await start({ retryScheduleMs: [10, 10] });
    const hook = await addHook(s, ["send"]);
    let failures = 2;
    receiver.respond((r) => (r.method === "POST" && failures-- > 0 ? 500 : 200));
    await sendTo(s, ["a@example.org"]);
    await eventually(() => s.inspect.deliveries({ webhookId: hook.id }).some((d) => d.ok));
    const attempts = s.inspect.deliveries({ webhookId: hook.id });
    expect(attempts.map((d) => `${d.attempt}:${d.status}`)).toEqual(["1:500", "2:500", "3:200"]);
    expect(new Set(attempts.map((d) => d.batchId)).size).toBe(1);
    expect(new Set(receiver.posts().map((p) => p.body)).size).toBe(1);
    const info = (await callApi(s.apiUrl, "webhooks/info", { key: KEY, id: hook.id })).body;
    expect(info).toMatchObject({
      batches_sent: 1,
      events_sent: 1,
      last_error: `POST to ${receiver.url} failed: HTTP 500`,
    });
  });

  it("holds later events behind a failed batch until it is given up, then posts them", async () => {
    const s = await start({ retryScheduleMs: [60_000] });
    const hook = await addHook(s, ["send"]);
    receiver.respond((r) => (r.method === "POST" ? 503 : 200));
    await sendTo(s, ["first@example.org"]);
    await eventually(() => s.inspect.deliveries({ webhookId: hook.id }).length === 1);
    await sendTo(s, ["second@example.org"]);
    // The failed batch waits a minute for its retry: the second event can only queue behind it.
    expect(receiver.posts()).toHaveLength(1);
    expect(s.inspect.webhooks()[0]).toMatchObject({
      pending: 1,
      batch: { events: 1, attempts: 1, waitingForRetry: true },
    });
    receiver.respond(() => 200);
    expect(s.control.giveUp(hook.id)).toBe(true);
    await eventually(() => s.inspect.deliveries({ webhookId: hook.id }).some((d) => d.ok));
    const emails = batchesOf(receiver)
      .slice(1)
      .flat()
      .map((e) => (e as { msg: { email: string } }).msg.email);
    expect(emails).toEqual(["second@example.org"]);
    expect(s.control.giveUp(hook.id)).toBe(false);
  });

  it("drops a batch after its last retry and goes on with the next events", async () => {
    const s = await start({ retryScheduleMs: [5] });
    const hook = await addHook(s, ["send"]);
    receiver.respond((r) => (r.method === "POST" ? 500 : 200));
    await sendTo(s, ["lost@example.org"]);
    await eventually(() => s.inspect.deliveries({ webhookId: hook.id }).length === 2);
    await eventually(() => s.inspect.webhooks()[0]?.batch === null);
    receiver.respond(() => 200);
    await sendTo(s, ["next@example.org"]);
    await eventually(() => s.inspect.deliveries({ webhookId: hook.id }).some((d) => d.ok));
    expect(s.inspect.deliveries({ webhookId: hook.id }).map((d) => d.status)).toEqual([500, 500, 200]);
  });

  it("records time-outs and refused connections in last_error", async () => {
    const s = await start({ retryScheduleMs: [60_000], webhookTimeoutMs: 50 });
    const hook = await addHook(s, ["send"]);
    receiver.respond((r) => (r.method === "POST" ? "hang" : 200));
    await sendTo(s, ["a@example.org"]);
    await eventually(() => s.inspect.deliveries({ webhookId: hook.id }).length === 1);
    expect(s.inspect.webhooks()[0]?.last_error).toBe(`POST to ${receiver.url} failed: timed out after 50 ms`);
    await receiver.close();
    await s.control.flushWebhooks();
    expect(s.inspect.webhooks()[0]?.last_error).toBe(`POST to ${receiver.url} failed: ECONNREFUSED`);
    expect(s.inspect.deliveries({ webhookId: hook.id }).map((d) => d.attempt)).toEqual([1, 2]);
    receiver = await startReceiver();
  });
});
