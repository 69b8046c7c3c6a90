import { createRequire } from "node:module";
import { DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** The parts of the official client (`@mailchimp/mailchimp_transactional`, untyped CommonJS) used here. */
interface OfficialClient {
  basePath: string;
  setDefaultOutputFormat(format: string): void;
  users: { ping(): Promise<unknown>; ping2(): Promise<unknown>; info(): Promise<unknown> };
  messages: {
    send(body: Record<string, unknown>): Promise<unknown>;
    info(body: { id: string }): Promise<unknown>;
  };
  rejects: {
    add(body: { email: string; comment?: string }): Promise<unknown>;
    list(body?: { email?: string; include_expired?: boolean }): Promise<unknown>;
  };
}

const require = createRequire(import.meta.url);
const mailchimpTransactional = require("@mailchimp/mailchimp_transactional") as (
  apiKey: string,
) => OfficialClient;

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ smtpPort: false, flushIntervalMs: 0 });
});

afterAll(async () => {
  await sim.close();
});

/**
 * The official client, pointed at the simulator. Its ApiClient (src/ApiClient.js) sets
 * `this.basePath = 'https://mandrillapp.com/api/1.3'` in the constructor and `post()` builds every URL
 * as `this.basePath + '/users/ping'` (plus `.json` etc. when an output format is chosen), so assigning
 * the public `basePath` property of the instance is the supported way to redirect it: no patching,
 * and the rest of the client (body with `key`, axios, headers) runs unchanged.
 */
function client(key: string, version = "1.0"): OfficialClient {
  const c = mailchimpTransactional(key);
  c.basePath = `${sim.url}/api/${version}`;
  return c;
}

describe("the official @mailchimp/mailchimp_transactional client against the simulator", () => {
  it("pings: users.ping answers the JSON string PONG!, ping2 the object", async () => {
    expect(await client(DEMO_KEYS.valid).users.ping()).toBe("PONG!");
    expect(await client(DEMO_KEYS.valid).users.ping2()).toEqual({ PING: "PONG!" });
  });

  it("works on its own default /api/1.3 path and with the .json suffix", async () => {
    const c = client(DEMO_KEYS.valid, "1.3");
    c.setDefaultOutputFormat("json");
    expect(await c.users.ping()).toBe("PONG!");
    expect(sim.inspect.apiLog().at(-1)?.method).toBe("users/ping");
  });

  it("sends a message and reads it back with messages.info", async () => {
    const c = client(DEMO_KEYS.valid);
    const result = (await c.messages.send({
      message: {
        from_email: "receipts@example.com",
        subject: "Your receipt",
        html: "<p>Thanks</p>",
        to: [{ email: "alice@example.org", type: "to" }, { email: "not-an-address@localhost" }],
        tags: ["receipt"],
      },
    })) as Array<{ email: string; status: string; _id?: string }>;
    expect(result.map((r) => r.status)).toEqual(["sent", "invalid"]);
    const info = (await c.messages.info({ id: result[0]?._id ?? "" })) as {
      email: string;
      state: string;
      tags: string[];
    };
    expect(info).toMatchObject({ email: "alice@example.org", state: "sent", tags: ["receipt"] });
    expect(sim.inspect.lastMessage()?.transport).toBe("api");
  });

  it("adds and lists rejects", async () => {
    const c = client(DEMO_KEYS.valid);
    expect(await c.rejects.add({ email: "bob@example.net", comment: "asked" })).toEqual({
      email: "bob@example.net",
      added: true,
    });
    const list = (await c.rejects.list({ email: "bob@example.net" })) as Array<{
      email: string;
      reason: string;
      detail: string;
    }>;
    expect(list).toEqual([
      expect.objectContaining({ email: "bob@example.net", reason: "custom", detail: "asked" }),
    ]);
  });

  it("returns (does not throw) an axios error carrying Mandrill's error body for a bad key", async () => {
    const result = (await client("wrong-key").users.ping()) as Error & {
      response?: { status: number; data: unknown };
    };
    expect(result).toBeInstanceOf(Error);
    expect(result.response?.status).toBe(500);
    expect(result.response?.data).toEqual({
      status: "error",
      code: -1,
      name: "Invalid_Key",
      message: "Invalid API key",
    });
  });
});
