import {
  isMandrillKitError,
  MandrillKitConfigError,
  MandrillKitNotFoundError,
  MandrillKitValidationError,
} from "@mandrill-kit/core";
import { DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { afterEach, describe, expect, it } from "vitest";
import { callApi } from "./helpers.js";

let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: Parameters<typeof startSimulator>[0] = {}): Promise<Simulator> {
  sim = await startSimulator({ smtpPort: false, flushIntervalMs: 0, ...options });
  return sim;
}

describe("keys (docs/mandrill.md#api-keys)", () => {
  it("answers ValidationError 'You must specify a key value' for a body that is not JSON or has no key", async () => {
    const s = await start();
    const expected = {
      status: "error",
      code: -2,
      name: "ValidationError",
      message: "You must specify a key value",
    };
    expect((await callApi(s.apiUrl, "users/ping", "key=abc")).body).toEqual(expected);
    expect((await callApi(s.apiUrl, "users/ping", {})).body).toEqual(expected);
    expect((await callApi(s.apiUrl, "users/ping", { api_key: DEMO_KEYS.valid })).body).toEqual(expected);
    expect((await callApi(s.apiUrl, "users/ping", "[]")).body).toEqual(expected);
  });

  it.each([
    ["an unknown key", "nope"],
    ["a disabled key", DEMO_KEYS.disabled],
    ["a key restricted to other IPs (assumed answer)", DEMO_KEYS.ipRestricted],
  ])("answers Invalid_Key 'Invalid API key' for %s", async (_, key) => {
    const s = await start();
    const res = await callApi(s.apiUrl, "users/ping", { key });
    expect(res.body).toEqual({ status: "error", code: -1, name: "Invalid_Key", message: "Invalid API key" });
  });

  it("lets an IP-restricted key through from an allowed IP; test keys work", async () => {
    const s = await start({
      accounts: [
        {
          id: "a",
          keys: [
            { key: "restricted-key-1234", kind: "ip-restricted", allowedIps: ["127.0.0.1"] },
            { key: "test-key-123456", kind: "test" },
          ],
        },
      ],
    });
    expect((await callApi(s.apiUrl, "users/ping", { key: "restricted-key-1234" })).body).toBe("PONG!");
    expect((await callApi(s.apiUrl, "users/ping", { key: "test-key-123456" })).body).toBe("PONG!");
  });

  it("acceptAnyKey: accepts what the predicate accepts, each key with an account of its own", async () => {
    const s = await start({ acceptAnyKey: (key) => !key.startsWith("invalid") });
    expect((await callApi(s.apiUrl, "users/ping", { key: "invalid-123" })).body).toMatchObject({
      name: "Invalid_Key",
    });
    const send = (key: string) =>
      callApi(s.apiUrl, "messages/send", {
        key,
        message: { from_email: "anyone@any-domain.example", to: [{ email: "b@example.org" }] },
      });
    expect(((await send("tenant-a-key")).body as Array<{ status: string }>)[0]?.status).toBe("sent");
    await send("tenant-b-key");
    const a = (await callApi(s.apiUrl, "users/info", { key: "tenant-a-key" })).body as {
      stats: { all_time: { sent: number } };
    };
    expect(a.stats.all_time.sent).toBe(1);
    expect(new Set(s.inspect.outbox().map((m) => m.account)).size).toBe(2);
    expect(s.inspect.outbox({ account: "tenant-a-key" })).toHaveLength(1);
  });

  it("control.setKeyKind disables a key at once", async () => {
    const s = await start();
    s.control.setKeyKind(DEMO_KEYS.valid, "disabled");
    expect((await callApi(s.apiUrl, "users/ping", { key: DEMO_KEYS.valid })).body).toMatchObject({
      name: "Invalid_Key",
    });
  });
});

describe("error statuses: legacy (all 500) vs modern (2026 OpenAPI)", () => {
  const cases: Array<[string, string, Record<string, unknown>, number]> = [
    ["Invalid_Key", "users/ping", { key: "nope" }, 401],
    ["ValidationError", "users/ping", {}, 400],
    ["PaymentRequired", "messages/send", { key: DEMO_KEYS.valid, send_at: "2099-12-31 00:00:00" }, 402],
    ["Unknown_Message", "messages/info", { key: DEMO_KEYS.valid, id: "0".repeat(32) }, 404],
    ["Unknown_Webhook", "webhooks/info", { key: DEMO_KEYS.valid, id: 99 }, 404],
    ["Invalid_Reject", "rejects/delete", { key: DEMO_KEYS.valid, email: "nobody@example.org" }, 422],
  ];

  it.each(cases)("%s: 500 in legacy mode, %#", async (name, method, body) => {
    const s = await start({ errorStatus: "legacy" });
    if (name === "PaymentRequired") s.control.setBalance(0);
    const res = await callApi(s.apiUrl, method, withMessage(body));
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ status: "error", name });
  });

  it.each(cases)("%s: the mapped status in modern mode", async (name, method, body, status) => {
    const s = await start({ errorStatus: "modern" });
    if (name === "PaymentRequired") s.control.setBalance(0);
    const res = await callApi(s.apiUrl, method, withMessage(body));
    expect(res.status).toBe(status);
    expect(Object.keys(res.body as object)).toEqual(["status", "code", "name", "message"]);
  });

  function withMessage(body: Record<string, unknown>) {
    return "send_at" in body
      ? {
          ...body,
          send_at: nextWeek(),
          message: { from_email: "a@example.com", to: [{ email: "b@example.org" }] },
        }
      : body;
  }

  function nextWeek() {
    return new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 19).replace("T", " ");
  }
});

describe("HTTP surface", () => {
  it("serves /api/1.0/<group>/<method> with and without .json, and other 1.x versions", async () => {
    const s = await start();
    for (const path of ["users/ping", "users/ping.json"]) {
      const res = await fetch(`${s.apiUrl}${path}`, {
        method: "POST",
        body: JSON.stringify({ key: DEMO_KEYS.valid }),
      });
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await res.text()).toBe('"PONG!"');
    }
    const v13 = await fetch(`${s.url}/api/1.3/users/ping2`, {
      method: "POST",
      body: JSON.stringify({ key: DEMO_KEYS.valid }),
    });
    expect(await v13.json()).toEqual({ PING: "PONG!" });
  });

  it("answers an unknown method with GeneralError and a GET with 405", async () => {
    const s = await start();
    const unknown = await callApi(s.apiUrl, "messages/search", { key: DEMO_KEYS.valid });
    expect(unknown.body).toMatchObject({
      name: "GeneralError",
      message: expect.stringContaining("messages/search"),
    });
    const get = await fetch(`${s.apiUrl}users/ping.json`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });

  it("logs every call with a masked key", async () => {
    const s = await start();
    await callApi(s.apiUrl, "users/ping", { key: DEMO_KEYS.valid });
    await callApi(s.apiUrl, "users/ping", { key: "nope" });
    const log = s.inspect.apiLog();
    expect(log.map((e) => `${e.method}:${e.status}`)).toEqual(["users/ping:200", "users/ping:500"]);
    expect(JSON.stringify(log)).not.toContain(DEMO_KEYS.valid);
  });
});

describe("options", () => {
  it("throws MandrillKitConfigError synchronously for an unknown option, with a suggestion", () => {
    let thrown: unknown;
    try {
      void startSimulator({ flushInterval: 0 } as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MandrillKitConfigError);
    expect(isMandrillKitError(thrown, "ERR_MK_CONFIG_UNKNOWN_OPTION")).toBe(true);
    expect((thrown as Error).message).toMatch(/Did you mean "flushIntervalMs"\?/);
  });

  it.each([
    [{ port: 70000 }, /option port must be a port number/],
    [{ errorStatus: "new" }, /errorStatus must be "legacy" or "modern"/],
    [{ maxBatchSize: 5000 }, /maxBatchSize must be an integer from 1 to 1000/],
    [{ retryScheduleMs: [-1] }, /retryScheduleMs must be an array/],
    [
      { accounts: [{ id: "a", keys: [{ key: "k", kind: "live" }] }] },
      /accounts\[0\]\.keys\[0\]\.kind must be one of/,
    ],
    [{ accounts: [{ id: "a", domain: ["x.example"] }] }, /Did you mean "domains"/],
    [
      {
        accounts: [
          { id: "a", keys: ["k1"] },
          { id: "b", keys: ["k1"] },
        ],
      },
      /must not repeat a key/,
    ],
    [{ acceptAnyKey: "yes" }, /acceptAnyKey must be a boolean or a function/],
    [{ clock: () => 0 }, /clock must be an object with a now\(\) method/],
    [{ now: () => 0 }, /option now was replaced by clock: \{ now: \(\) => epochMs \}/],
  ])("rejects %j", (options, message) => {
    expect(() => startSimulator(options as never)).toThrow(message);
  });

  it("guards against the factory passed uncalled", () => {
    expect(() => startSimulator(startSimulator as never)).toThrow(
      /Did you pass a factory without calling it/,
    );
  });
});

describe("control errors", () => {
  it("throws kit errors naming what is wrong", async () => {
    const s = await start();
    expect(() => s.control.emit("f".repeat(32), "open")).toThrow(MandrillKitNotFoundError);
    expect(() => s.control.giveUp(42)).toThrow(/No webhook with id 42/);
    expect(() => s.control.setBalance(0, "no-such-account")).toThrow(
      /No simulated account "no-such-account"/,
    );
    expect(() => s.control.addReject({ email: "not an address" })).toThrow(MandrillKitValidationError);
    expect(() => s.control.addReject({ email: "a@example.org", reason: "bounce" as never })).toThrow(
      /reason must be one of/,
    );
    expect(() => s.control.addDomain({ domain: "x.example", spf: "yes" } as never)).toThrow(
      MandrillKitConfigError,
    );
    expect(() => s.control.addAccount({ id: "demo" })).toThrow(/already exists/);
    expect(() => s.control.setKeyKind(DEMO_KEYS.valid, "live" as never)).toThrow(/kind must be one of/);
  });
});
