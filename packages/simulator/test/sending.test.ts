import { manualClock } from "@mandrill-kit/core/testing";
import { DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { afterEach, describe, expect, it } from "vitest";
import { callApi, eventually } from "./helpers.js";

const KEY = DEMO_KEYS.valid;
const DAY = 24 * 60 * 60 * 1000;
let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: Parameters<typeof startSimulator>[0] = {}): Promise<Simulator> {
  sim = await startSimulator({ smtpPort: false, flushIntervalMs: 0, ...options });
  return sim;
}

function message(to: Array<string | { email: string; type?: string }>, extra: Record<string, unknown> = {}) {
  return {
    from_email: "receipts@example.com",
    subject: "Your receipt",
    html: "<p>Hi</p>",
    to: to.map((t) => (typeof t === "string" ? { email: t } : t)),
    ...extra,
  };
}

async function send(s: Simulator, msg: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const res = await callApi(s.apiUrl, "messages/send", { key: KEY, message: msg, ...extra });
  return res as { status: number; body: Array<Record<string, unknown>> & Record<string, unknown> };
}

describe("messages/send — per-recipient statuses (docs/mandrill.md#send-request and docs/mandrill.md#send-response)", () => {
  it("answers sent with a 32-hex _id per recipient and null reasons", async () => {
    const s = await start();
    const res = await send(s, message(["alice@example.org", { email: "bob@example.net", type: "cc" }]));
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(2);
    for (const item of res.body) {
      expect(item.status).toBe("sent");
      expect(item._id).toMatch(/^[0-9a-f]{32}$/);
      expect(item.reject_reason).toBeNull();
    }
    expect(new Set(res.body.map((i) => i._id)).size).toBe(2);
    expect(s.inspect.events({ type: "send" }).map((e) => e.email)).toEqual([
      "alice@example.org",
      "bob@example.net",
    ]);
  });

  it("emits delivered after send when emitDelivered is on", async () => {
    const s = await start({ emitDelivered: true });
    await send(s, message(["alice@example.org"]));
    expect(s.inspect.events().map((e) => e.type)).toEqual(["send", "delivered"]);
  });

  it("answers invalid without an _id for a syntactically bad address, and emits nothing for it", async () => {
    const s = await start();
    const res = await send(s, message(["not-an-address@localhost", "ok@example.org"]));
    expect(res.body[0]).toMatchObject({ email: "not-an-address@localhost", status: "invalid" });
    expect(res.body[0]).not.toHaveProperty("_id");
    expect(res.body[1]?.status).toBe("sent");
    expect(s.inspect.events().map((e) => e.email)).toEqual(["ok@example.org"]);
  });

  it("queues every recipient with async: true; the outcome comes later as events", async () => {
    const s = await start();
    s.control.addReject({ email: "blocked@example.org", reason: "hard-bounce" });
    const res = await send(s, message(["a@example.org", "blocked@example.org"]), { async: true });
    expect(res.body.map((i) => i.status)).toEqual(["queued", "queued"]);
    await eventually(() => s.inspect.events({ type: "reject" }).length === 1);
    expect(s.inspect.events({ type: "send" }).map((e) => e.email)).toEqual(["a@example.org"]);
    const id = res.body[1]?._id as string;
    expect(s.inspect.message(id)).toMatchObject({
      status: "queued",
      state: "rejected",
      reject_reason: "hard-bounce",
    });
  });

  it("queues messages with more than 10 recipients (queued_reason multiple-recipients)", async () => {
    const s = await start();
    const to = Array.from({ length: 11 }, (_, i) => `r${i}@example.org`);
    const res = await send(s, message(to));
    expect(res.body.every((i) => i.status === "queued" && i.queued_reason === "multiple-recipients")).toBe(
      true,
    );
    const ten = await send(s, message(to.slice(0, 10)));
    expect(ten.body.every((i) => i.status === "sent")).toBe(true);
  });

  it("schedules with a future send_at when the balance is positive, and sends at release", async () => {
    const clock = manualClock(Date.UTC(2030, 0, 1, 12, 0, 0));
    const s = await start({ clock });
    const res = await send(s, message(["later@example.org"]), { send_at: "2030-01-02 12:00:00" });
    expect(res.body[0]?.status).toBe("scheduled");
    expect(s.inspect.events()).toHaveLength(0);
    clock.advance(DAY);
    expect(s.control.releaseScheduled()).toBe(1);
    expect(s.inspect.events({ type: "send" })).toHaveLength(1);
  });

  it("sends at once when send_at is in the past", async () => {
    const s = await start();
    const res = await send(s, message(["now@example.org"]), { send_at: "2001-01-01 00:00:00" });
    expect(res.body[0]?.status).toBe("sent");
  });

  it("answers PaymentRequired for send_at without a positive balance", async () => {
    const s = await start();
    s.control.setBalance(0);
    const future = new Date(Date.now() + DAY).toISOString().slice(0, 19).replace("T", " ");
    const res = await send(s, message(["later@example.org"]), { send_at: future });
    expect(res.body).toEqual({
      status: "error",
      code: 10,
      name: "PaymentRequired",
      message: "Email scheduling is only available for accounts with a positive balance.",
    });
  });

  it("rejects every recipient as unsigned when the From domain is not verified", async () => {
    const s = await start();
    const res = await send(s, message(["a@example.org"], { from_email: "news@unverified.example" }));
    expect(res.body[0]).toMatchObject({ status: "rejected", reject_reason: "unsigned" });
    const other = await send(s, message(["a@example.org"], { from_email: "x@not-listed.example" }));
    expect(other.body[0]?.reject_reason).toBe("unsigned");
    s.control.addDomain("not-listed.example");
    const after = await send(s, message(["a@example.org"], { from_email: "x@not-listed.example" }));
    expect(after.body[0]?.status).toBe("sent");
  });

  it("answers ValidationError for an invalid From and Unknown_Subaccount for an unknown subaccount", async () => {
    const s = await start();
    const bad = await send(s, message(["a@example.org"], { from_email: "nope" }));
    expect(bad.body).toMatchObject({ status: "error", name: "ValidationError" });
    const sub = await send(s, message(["a@example.org"], { subaccount: "ghost" }));
    expect(sub.body).toMatchObject({
      name: "Unknown_Subaccount",
      code: 12,
      message: "No subaccount exists with the id 'ghost'",
    });
    const known = await send(s, message(["a@example.org"], { subaccount: "customer-123" }));
    expect(known.body[0]?.status).toBe("sent");
  });
});

describe("the denylist (docs/mandrill.md#rejection-denylist)", () => {
  it("rejects a denylisted address with its reason; the allowlist overrides it", async () => {
    const s = await start();
    s.control.addReject({ email: "bob@example.net", reason: "spam" });
    expect((await send(s, message(["bob@example.net"]))).body[0]).toMatchObject({
      status: "rejected",
      reject_reason: "spam",
    });
    await callApi(s.apiUrl, "whitelists/add", { key: KEY, email: "bob@example.net" });
    expect((await send(s, message(["bob@example.net"]))).body[0]?.status).toBe("sent");
    const sync = s.inspect.events().filter((e) => e.type === "blacklist" || e.type === "whitelist");
    expect(sync.map((e) => `${e.type}:${(e.payload as { action: string }).action}`)).toEqual([
      "blacklist:add",
      "blacklist:remove",
      "whitelist:add",
    ]);
  });

  it("emits a reject event carrying the denylist entry", async () => {
    const s = await start();
    s.control.addReject({
      email: "bob@example.net",
      reason: "hard-bounce",
      detail: "550 5.1.1 no such user",
    });
    await send(s, message(["bob@example.net"]));
    const [reject] = s.inspect.events({ type: "reject" });
    const msg = (reject?.payload as { msg: Record<string, unknown> } | undefined)?.msg ?? {};
    expect(msg.state).toBe("rejected");
    expect(msg.reject).toMatchObject({ reason: "hard-bounce", email: "bob@example.net", expired: false });
  });

  it("expires a soft bounce after 24 h and a hard bounce after 7 days; expired entries list only with include_expired", async () => {
    const clock = manualClock(Date.UTC(2030, 5, 1));
    const s = await start({ clock });
    await send(s, message(["soft_bounce@test.mandrillapp.com", "hard_bounce@test.mandrillapp.com"]));
    const reasons = async (includeExpired = false) =>
      (
        (await callApi(s.apiUrl, "rejects/list", { key: KEY, include_expired: includeExpired }))
          .body as Array<{
          email: string;
          reason: string;
          expired: boolean;
          expires_at: string;
        }>
      ).map((e) => `${e.reason}${e.expired ? " (expired)" : ""}`);
    expect(await reasons()).toEqual(["soft-bounce", "hard-bounce"]);
    clock.advance(DAY + 1);
    expect(await reasons()).toEqual(["hard-bounce"]);
    expect(await reasons(true)).toEqual(["soft-bounce (expired)", "hard-bounce"]);
    expect((await send(s, message(["soft_bounce@test.mandrillapp.com"]))).body[0]?.status).toBe("sent");
    clock.advance(7 * DAY);
    expect((await send(s, message(["hard_bounce@test.mandrillapp.com"]))).body[0]?.status).toBe("sent");
  });

  it("lists a repeat bounce for longer than the first (duration doubles) and reports it as a new add", async () => {
    const clock = manualClock(Date.UTC(2030, 5, 1));
    const s = await start({ clock });
    await send(s, message(["hard_bounce@test.mandrillapp.com"]));
    clock.advance(8 * DAY);
    await send(s, message(["hard_bounce@test.mandrillapp.com"]));
    const [entry] = s.inspect.rejects();
    expect(entry?.expires_at).toBe("2030-06-23 00:00:00");
    const actions = s.inspect
      .events({ type: "blacklist" })
      .map((e) => (e.payload as { action: string }).action);
    expect(actions).toEqual(["add", "add"]);
  });

  it("keeps manual entries forever and reports a re-add of an active entry as change", async () => {
    const clock = manualClock(Date.UTC(2030, 5, 1));
    const s = await start({ clock });
    const add = await callApi(s.apiUrl, "rejects/add", {
      key: KEY,
      email: "Carol@Example.net",
      comment: "asked us",
    });
    expect(add.body).toEqual({ email: "carol@example.net", added: true });
    clock.advance(5000 * DAY);
    expect((await send(s, message(["carol@example.net"]))).body[0]?.reject_reason).toBe("custom");
    s.control.addReject({ email: "carol@example.net" });
    const actions = s.inspect
      .events({ type: "blacklist" })
      .map((e) => (e.payload as { action: string }).action);
    expect(actions).toEqual(["add", "change"]);
  });

  it("scopes an unsubscribe to the sender: other From addresses still reach the recipient", async () => {
    const s = await start();
    const [first] = (await send(s, message(["dana@example.org"]))).body;
    s.control.emit(first?._id as string, "unsub");
    expect((await send(s, message(["dana@example.org"]))).body[0]).toMatchObject({
      status: "rejected",
      reject_reason: "unsub",
    });
    const other = await send(s, message(["dana@example.org"], { from_email: "news@example.org" }));
    expect(other.body[0]?.status).toBe("sent");
    const [listed] = (await callApi(s.apiUrl, "rejects/list", { key: KEY, email: "dana@" })).body as Array<{
      sender: { address: string };
    }>;
    expect(listed?.sender.address).toBe("receipts@example.com");
  });

  it("scopes subaccount entries to that subaccount's mail", async () => {
    const s = await start();
    await callApi(s.apiUrl, "rejects/add", {
      key: KEY,
      email: "eve@example.org",
      subaccount: "customer-123",
    });
    expect(
      (await send(s, message(["eve@example.org"], { subaccount: "customer-123" }))).body[0]?.status,
    ).toBe("rejected");
    expect((await send(s, message(["eve@example.org"]))).body[0]?.status).toBe("sent");
  });

  it("rejects/delete lifts an entry (blacklist remove) and answers Invalid_Reject for an unlisted address", async () => {
    const s = await start();
    s.control.addReject({ email: "fay@example.org", reason: "hard-bounce" });
    const del = await callApi(s.apiUrl, "rejects/delete", { key: KEY, email: "fay@example.org" });
    expect(del.body).toEqual({ email: "fay@example.org", deleted: true, subaccount: null });
    expect(
      s.inspect.events({ type: "blacklist" }).map((e) => (e.payload as { action: string }).action),
    ).toEqual(["add", "remove"]);
    const again = await callApi(s.apiUrl, "rejects/delete", { key: KEY, email: "fay@example.org" });
    expect(again.body).toMatchObject({ status: "error", name: "Invalid_Reject", code: 4 });
  });

  it("does not denylist an allowlisted address when it bounces", async () => {
    const s = await start();
    await callApi(s.apiUrl, "whitelists/add", {
      key: KEY,
      email: "hard_bounce@test.mandrillapp.com",
      comment: "ours",
    });
    await send(s, message(["hard_bounce@test.mandrillapp.com"]));
    expect(s.inspect.events({ type: "hard_bounce" })).toHaveLength(1);
    expect(s.inspect.rejects()).toEqual([]);
    const list = await callApi(s.apiUrl, "whitelists/list", { key: KEY });
    expect(list.body).toEqual([
      { email: "hard_bounce@test.mandrillapp.com", detail: "ours", created_at: expect.any(String) },
    ]);
  });
});

describe("Mandrill's test addresses (docs/mandrill.md#api-keys)", () => {
  it.each([
    ["hard_bounce@test.mandrillapp.com", "hard_bounce", "bounced", "hard-bounce"],
    ["soft_bounce@test.mandrillapp.com", "soft_bounce", "soft-bounced", "soft-bounce"],
    ["spam@test.mandrillapp.com", "spam", "spam", "spam"],
  ])(
    "%s: send, then %s; the address is denylisted and the blacklist sync event follows",
    async (email, event, state, reason) => {
      const s = await start();
      const [item] = (await send(s, message([email]))).body;
      expect(item?.status).toBe("sent");
      expect(s.inspect.events({ email }).map((e) => e.type)).toEqual(["send", event, "blacklist"]);
      expect(s.inspect.message(item?._id as string)?.state).toBe(state);
      const [sync] = s.inspect.events({ type: "blacklist" });
      expect(sync?.payload).toMatchObject({
        type: "blacklist",
        action: "add",
        reject: { email, reason, sender: null },
      });
      expect((await send(s, message([email]))).body[0]).toMatchObject({
        status: "rejected",
        reject_reason: reason,
      });
    },
  );

  it("reject@: rejected at once with a reject event (assumed reason hard-bounce), not denylisted", async () => {
    const s = await start();
    const [item] = (await send(s, message(["reject@test.mandrillapp.com"]))).body;
    expect(item).toMatchObject({ status: "rejected", reject_reason: "hard-bounce" });
    expect(s.inspect.events().map((e) => e.type)).toEqual(["reject"]);
    expect(s.inspect.rejects()).toEqual([]);
  });

  it("works with a test key too, and flags the outbox entry as test", async () => {
    const s = await start();
    const res = await callApi(s.apiUrl, "messages/send", {
      key: DEMO_KEYS.test,
      message: message(["spam@test.mandrillapp.com"]),
    });
    expect((res.body as Array<{ status: string }>)[0]?.status).toBe("sent");
    expect(s.inspect.lastMessage()?.test).toBe(true);
    expect(s.inspect.events({ type: "spam" })).toHaveLength(1);
  });
});

describe("templates and merge tags", () => {
  it("send-template fills mc:edit blocks and per-recipient merge vars", async () => {
    const s = await start();
    const added = await callApi(s.apiUrl, "templates/add", {
      key: KEY,
      name: "Order Shipped",
      subject: "Order *|ORDER|* shipped, *|FNAME|*",
      code: '<h1>Hi *|FNAME|*</h1><div mc:edit="main">default</div><p>*|SHOP|*</p>',
      from_email: "shop@example.com",
    });
    expect(added.body).toMatchObject({ slug: "order-shipped", name: "Order Shipped" });
    const res = await callApi(s.apiUrl, "messages/send-template", {
      key: KEY,
      template_name: "order-shipped",
      template_content: [{ name: "main", content: "<p>Your parcel is on its way.</p>" }],
      message: {
        to: [{ email: "alice@example.org" }, { email: "bob@example.org" }],
        global_merge_vars: [
          { name: "shop", content: "Example Shop" },
          { name: "ORDER", content: "A1" },
        ],
        merge_vars: [{ rcpt: "alice@example.org", vars: [{ name: "FNAME", content: "Alice" }] }],
      },
    });
    expect((res.body as Array<{ status: string }>).map((i) => i.status)).toEqual(["sent", "sent"]);
    const out = s.inspect.lastMessage();
    expect(out?.template?.name).toBe("order-shipped");
    expect(out?.from.email).toBe("shop@example.com");
    expect(out?.recipients[0]).toMatchObject({
      subject: "Order A1 shipped, Alice",
      html: '<h1>Hi Alice</h1><div mc:edit="main"><p>Your parcel is on its way.</p></div><p>Example Shop</p>',
    });
    expect(out?.recipients[1]?.subject).toBe("Order A1 shipped, ");
  });

  it("answers Unknown_Template for a template that does not exist", async () => {
    const s = await start();
    const res = await callApi(s.apiUrl, "messages/send-template", {
      key: KEY,
      template_name: "nope",
      template_content: [],
      message: message(["a@example.org"]),
    });
    expect(res.body).toMatchObject({ status: "error", name: "Unknown_Template", code: 5 });
  });

  it("turns *|UNSUB:url|* into a link that unsubscribes (sender-level) and redirects with md_id and md_email", async () => {
    const s = await start();
    const res = await send(
      s,
      message(["gil@example.org"], {
        html: '<a href="*|UNSUB:https://app.example.com/bye|*">unsubscribe</a>',
      }),
    );
    const id = res.body[0]?._id as string;
    const href = /href="([^"]+)"/.exec(s.inspect.lastMessage()?.recipients[0]?.html ?? "")?.[1] ?? "";
    expect(href.startsWith(`${s.url}/unsub/${id}`)).toBe(true);
    const click = await fetch(href, { redirect: "manual" });
    expect(click.status).toBe(302);
    const location = new URL(click.headers.get("location") ?? "");
    expect(location.origin + location.pathname).toBe("https://app.example.com/bye");
    expect(location.searchParams.get("md_id")).toBe(id);
    expect(location.searchParams.get("md_email")).toBe("gil@example.org");
    expect(s.inspect.events({ type: "unsub" })).toHaveLength(1);
    expect(s.inspect.rejects()[0]).toMatchObject({ email: "gil@example.org", reason: "unsub" });
  });
});

describe("control.emit", () => {
  it("records opens and clicks, visible in messages/info and in the events", async () => {
    const s = await start();
    const [item] = (
      await send(s, message(["hal@example.org"], { tags: ["receipt"], metadata: { order: "A1" } }))
    ).body;
    const id = item?._id as string;
    s.control.emit(id, "open");
    const click = s.control.emit(id, "click", { url: "https://example.com/track?x=1" });
    expect(click).toMatchObject({
      event: "click",
      url: "https://example.com/track?x=1",
      _id: id,
      ip: "127.0.0.1",
    });
    const info = await callApi(s.apiUrl, "messages/info", { key: KEY, id });
    expect(info.body).toMatchObject({
      _id: id,
      state: "sent",
      opens: 1,
      clicks: 1,
      tags: ["receipt"],
      metadata: { order: "A1" },
    });
    expect(() => s.control.emit("0".repeat(32), "open")).toThrow(/no message/);
  });
});
