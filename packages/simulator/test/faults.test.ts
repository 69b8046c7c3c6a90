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

const ping = (s: Simulator, key: string = DEMO_KEYS.valid) => callApi(s.apiUrl, "users/ping", { key });

describe("API fault injection", () => {
  it("latency: delays the answer, which is otherwise normal", async () => {
    const s = await start();
    s.control.fault({ kind: "latency", ms: 150, times: 1 });
    const t0 = performance.now();
    const res = await ping(s);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(res.body).toBe("PONG!");
  });

  it.each(["legacy", "modern"] as const)(
    "rate-limit: HTTP 429 RequestLimitExceeded with Retry-After (%s statuses)",
    async (errorStatus) => {
      const s = await start({ errorStatus });
      s.control.fault({ kind: "rate-limit", retryAfterSeconds: 7, times: 1 });
      const res = await ping(s);
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("7");
      expect(res.body).toEqual({
        status: "error",
        code: -1,
        name: "RequestLimitExceeded",
        message: "Too Many Requests attempted recently",
      });
      expect((await ping(s)).body).toBe("PONG!");
    },
  );

  it.each([
    ["general-error", "GeneralError", 500, 500],
    ["service-unavailable", "ServiceUnavailable", 500, 503],
  ] as const)("%s: answers %s (legacy %i, modern %i)", async (kind, name, legacy, modern) => {
    for (const [errorStatus, status] of [
      ["legacy", legacy],
      ["modern", modern],
    ] as const) {
      const s = await start({ errorStatus });
      s.control.fault({ kind });
      const res = await ping(s);
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ status: "error", name });
      await s.close();
    }
  });

  it("reset: destroys the connection without an answer", async () => {
    const s = await start();
    s.control.fault({ kind: "reset", times: 1 });
    await expect(ping(s)).rejects.toThrow(/fetch failed/);
    expect((await ping(s)).body).toBe("PONG!");
  });

  it("targets one key or one method, counts down `times`, and can be cleared", async () => {
    const s = await start();
    s.control.fault({ kind: "general-error", key: DEMO_KEYS.test });
    expect((await ping(s, DEMO_KEYS.test)).body).toMatchObject({ name: "GeneralError" });
    expect((await ping(s, DEMO_KEYS.valid)).body).toBe("PONG!");
    s.control.clearFaults();
    expect((await ping(s, DEMO_KEYS.test)).body).toBe("PONG!");

    const handle = s.control.fault({ kind: "service-unavailable", method: "messages/send", times: 2 });
    expect((await ping(s)).body).toBe("PONG!");
    const send = () =>
      callApi(s.apiUrl, "messages/send", {
        key: DEMO_KEYS.valid,
        message: { from_email: "a@example.com", to: [{ email: "b@example.org" }] },
      });
    expect((await send()).body).toMatchObject({ name: "ServiceUnavailable" });
    expect(handle.remaining).toBe(1);
    handle.clear();
    expect(handle.remaining).toBe(0);
    expect(((await send()).body as Array<{ status: string }>)[0]?.status).toBe("sent");
    expect(s.inspect.faults()).toEqual([]);
  });

  it("starts with the faults given in options", async () => {
    const s = await start({ faults: [{ kind: "general-error", times: 1 }] });
    expect((await ping(s)).body).toMatchObject({ name: "GeneralError" });
    expect((await ping(s)).body).toBe("PONG!");
  });

  it("refuses a malformed fault with a clear error", async () => {
    const s = await start();
    expect(() => s.control.fault({ kind: "latency" } as never)).toThrow(/ms must be a number/);
    expect(() => s.control.fault({ kind: "smtp-reply", code: 250 } as never)).toThrow(
      /code must be an SMTP reply code/,
    );
    expect(() => s.control.fault({ kind: "slow" } as never)).toThrow(/kind must be one of/);
    expect(() => s.control.fault({ kind: "reset", time: 1 } as never)).toThrow(/Did you mean "times"/);
  });
});
