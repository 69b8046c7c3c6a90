import { MANDRILL_SEND_STATUSES, REJECT_REASONS } from "@mandrill-kit/core";
import { DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi, type Receiver, startReceiver } from "./helpers.js";

/** Response shapes checked against the samples and field lists of docs/mandrill.md#api-methods-the-kit-uses, docs/mandrill.md#send-request, docs/mandrill.md#send-response and docs/mandrill.md#api-errors. */
const KEY = DEMO_KEYS.valid;
const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
let sim: Simulator;
let receiver: Receiver;

beforeAll(async () => {
  sim = await startSimulator({ smtpPort: false, flushIntervalMs: 0 });
  receiver = await startReceiver();
});

afterAll(async () => {
  await sim.close();
  await receiver.close();
});

const call = async (method: string, params: Record<string, unknown> = {}) =>
  (await callApi(sim.apiUrl, method, { key: KEY, ...params })).body as Record<string, unknown>;

describe("response shapes (docs/mandrill.md#http-api)", () => {
  it("users/info: username, created_at, public_id, reputation, hourly_quota, backlog, stats per window", async () => {
    const info = await call("users/info");
    expect(Object.keys(info).sort()).toEqual(
      ["backlog", "created_at", "hourly_quota", "public_id", "reputation", "stats", "username"].sort(),
    );
    expect(info).toMatchObject({
      username: "demo@example.com",
      created_at: expect.stringMatching(TIME),
      reputation: 75,
    });
    const stats = info.stats as Record<string, Record<string, unknown>>;
    expect(Object.keys(stats)).toEqual([
      "today",
      "last_7_days",
      "last_30_days",
      "last_60_days",
      "last_90_days",
      "all_time",
    ]);
    for (const window of Object.values(stats)) {
      expect(Object.keys(window).sort()).toEqual(
        [
          "clicks",
          "complaints",
          "hard_bounces",
          "opens",
          "rejects",
          "sent",
          "soft_bounces",
          "unique_clicks",
          "unique_opens",
          "unsubs",
        ].sort(),
      );
    }
  });

  it("messages/send: an array of {email, status, reject_reason, queued_reason, _id}", async () => {
    const items = (await call("messages/send", {
      message: {
        from_email: "a@example.com",
        to: [{ email: "alice@example.org" }, { email: "reject@test.mandrillapp.com" }],
      },
    })) as unknown as Array<Record<string, unknown>>;
    for (const item of items) {
      expect(Object.keys(item)).toEqual(["email", "status", "reject_reason", "queued_reason", "_id"]);
      expect(MANDRILL_SEND_STATUSES).toContain(item.status);
      expect(item._id).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(REJECT_REASONS).toContain(items[1]?.reject_reason);
  });

  it("messages/info: ts, _id, sender, template, subject, email, tags, opens, opens_detail, clicks, clicks_detail, state, metadata, smtp_events", async () => {
    const [item] = (await call("messages/send", {
      message: { from_email: "a@example.com", subject: "S", to: [{ email: "x@example.org" }] },
    })) as unknown as Array<{ _id: string }>;
    const info = await call("messages/info", { id: item?._id });
    expect(Object.keys(info)).toEqual([
      "ts",
      "_id",
      "sender",
      "template",
      "subject",
      "email",
      "tags",
      "opens",
      "opens_detail",
      "clicks",
      "clicks_detail",
      "state",
      "metadata",
      "smtp_events",
    ]);
    expect(info.ts).toEqual(expect.any(Number));
    expect(info.smtp_events).toEqual([{ ts: expect.any(Number), type: "sent", diag: expect.any(String) }]);
  });

  it("errors: exactly {status, code, name, message}", async () => {
    const body = (await callApi(sim.apiUrl, "users/ping", { key: "nope" })).body;
    expect(body).toEqual({ status: "error", code: -1, name: "Invalid_Key", message: "Invalid API key" });
    expect(Object.keys(body as object)).toEqual(["status", "code", "name", "message"]);
  });

  it("webhooks: {id, url, description, auth_key, events, created_at, last_sent_at, batches_sent, events_sent, last_error}", async () => {
    const hook = await call("webhooks/add", {
      url: receiver.url,
      description: "shape",
      events: ["send", "hard_bounce"],
    });
    expect(Object.keys(hook)).toEqual([
      "id",
      "url",
      "description",
      "auth_key",
      "events",
      "created_at",
      "last_sent_at",
      "batches_sent",
      "events_sent",
      "last_error",
    ]);
    expect(hook).toMatchObject({
      id: expect.any(Number),
      url: receiver.url,
      description: "shape",
      events: ["send", "hard_bounce"],
      created_at: expect.stringMatching(TIME),
      last_sent_at: null,
      batches_sent: 0,
      events_sent: 0,
      last_error: null,
    });
    expect(await call("webhooks/list")).toEqual([hook]);
    expect(await call("webhooks/info", { id: hook.id })).toEqual(hook);
  });

  it("rejects/list: {email, reason, detail, created_at, last_event_at, expires_at, expired, sender, subaccount}", async () => {
    sim.control.addReject({ email: "shape@example.org", reason: "hard-bounce", detail: "550" });
    const [entry] = (await call("rejects/list", { email: "shape@example.org" })) as unknown as Array<
      Record<string, unknown>
    >;
    expect(Object.keys(entry ?? {})).toEqual([
      "email",
      "reason",
      "detail",
      "created_at",
      "last_event_at",
      "expires_at",
      "expired",
      "sender",
      "subaccount",
    ]);
    expect(entry).toMatchObject({
      reason: "hard-bounce",
      expires_at: expect.stringMatching(TIME),
      expired: false,
      sender: null,
    });
  });

  it("senders/domains and senders/check-domain: spf/dkim {valid, valid_after, error}, verified_at, valid_signing", async () => {
    const domains = (await call("senders/domains")) as unknown as Array<Record<string, unknown>>;
    const verified = domains.find((d) => d.domain === "example.com");
    expect(verified).toMatchObject({
      spf: { valid: true, valid_after: expect.stringMatching(TIME), error: null },
      dkim: { valid: true, valid_after: expect.stringMatching(TIME), error: null },
      verified_at: expect.stringMatching(TIME),
      valid_signing: true,
    });
    expect(domains.find((d) => d.domain === "unverified.example")).toMatchObject({
      spf: { valid: false },
      dkim: { valid: false },
      verified_at: null,
      valid_signing: false,
    });
    const checked = await call("senders/check-domain", { domain: "new.example" });
    expect(checked).toMatchObject({
      domain: "new.example",
      spf: { valid: false, error: expect.any(String) },
      valid_signing: false,
    });
    expect(
      ((await call("senders/domains")) as unknown as Array<{ domain: string }>).map((d) => d.domain),
    ).toContain("new.example");
  });

  it("users/senders: stats per From address", async () => {
    const senders = (await call("users/senders")) as unknown as Array<Record<string, unknown>>;
    expect(senders[0]).toMatchObject({
      address: "a@example.com",
      created_at: expect.stringMatching(TIME),
      sent: expect.any(Number),
    });
    expect(Object.keys(senders[0] ?? {})).toEqual([
      "address",
      "created_at",
      "sent",
      "hard_bounces",
      "soft_bounces",
      "rejects",
      "complaints",
      "unsubs",
      "opens",
      "clicks",
      "unique_opens",
      "unique_clicks",
    ]);
  });

  it("rejects/add, whitelists/add|delete answer {email, added} and {email, deleted}", async () => {
    expect(await call("rejects/add", { email: "r@example.org" })).toEqual({
      email: "r@example.org",
      added: true,
    });
    expect(await call("whitelists/add", { email: "w@example.org" })).toEqual({
      email: "w@example.org",
      added: true,
    });
    expect(await call("allowlists/add", { email: "w@example.org" })).toEqual({
      email: "w@example.org",
      added: false,
    });
    expect(await call("whitelists/delete", { email: "w@example.org" })).toEqual({
      email: "w@example.org",
      deleted: true,
    });
  });

  it("sync events: blacklist carries `reject`, whitelist carries `entry` (docs/mandrill.md#sync-events)", () => {
    const black = sim.inspect.events({ type: "blacklist" })[0]?.payload;
    expect(Object.keys(black ?? {})).toEqual(["type", "action", "ts", "reject"]);
    expect(Object.keys((black as { reject: object }).reject)).toEqual([
      "reason",
      "detail",
      "last_event_at",
      "email",
      "created_at",
      "expires_at",
      "expired",
      "subaccount",
      "sender",
    ]);
    const white = sim.inspect.events({ type: "whitelist" })[0]?.payload;
    expect(white).toEqual({
      type: "whitelist",
      action: "add",
      ts: expect.any(Number),
      entry: { email: "w@example.org", detail: null, created_at: expect.stringMatching(TIME) },
    });
  });

  it("message events: event, _id, ts and msg with Mandrill's keys (docs/mandrill.md#message-events)", () => {
    const send = sim.inspect.events({ type: "send" })[0]?.payload as Record<string, unknown>;
    expect(Object.keys(send)).toEqual(["event", "_id", "ts", "msg"]);
    const msg = send.msg as Record<string, unknown>;
    for (const key of [
      "ts",
      "subject",
      "email",
      "sender",
      "tags",
      "opens",
      "clicks",
      "state",
      "metadata",
      "_id",
      "_version",
      "subaccount",
      "template",
      "smtp_events",
    ]) {
      expect(msg).toHaveProperty(key);
    }
    expect(msg._id).toBe(send._id);
  });
});
