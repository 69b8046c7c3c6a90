import { createServer, type Server, type Socket } from "node:net";
import { createMemoryStore, MandrillKitConfigError, type Store } from "@mandrill-kit/core";
import { addKey, mandrillKit } from "@mandrill-kit/credentials";
import { createSender, mandrillSender, type Sender } from "@mandrill-kit/sender";
import express, { type ErrorRequestHandler } from "express";
import request from "supertest";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PUBLIC_URL } from "./helpers.js";

/*
 * Issue 13, item 1: the operator's opt-out is set once, on mandrillKit({ network }), and holds for the
 * save-time check (credentials) and the connect-time guard (sender) alike; a sender's own `network`
 * option wins. Without this, an operator who set it on the kit only got a sender that refused the
 * allowed relay, and one who set it on the sender only was tempted to loosen the save-time check too.
 */

/** A loopback TCP server that greets like SSH and counts connections (a connection proves the policy let it through). */
let relay: Server;
let relayPort = 0;
let connections = 0;
const sockets = new Set<Socket>();
let store: Store;
const KEYS = addKey(undefined, "k1");
const senders: Sender[] = [];

beforeAll(async () => {
  store = createMemoryStore();
  relay = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.end("SSH-2.0-OpenSSH_9.6\r\n");
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  relayPort = (relay.address() as { port: number }).port;
});

beforeEach(() => {
  connections = 0;
});

afterAll(async () => {
  for (const s of senders) await s.close();
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => relay.close(() => resolve()));
  await store.close();
});

function kitWith(network?: { allow?: string[]; ports?: number[] }) {
  return mandrillKit({
    store,
    keys: KEYS,
    publicUrl: PUBLIC_URL,
    ...(network === undefined ? {} : { network }),
  });
}

/** Saves an account whose SMTP host is the loopback relay (through a kit that allows it). */
async function saveRelayAccount(account: string): Promise<void> {
  const operator = kitWith({ allow: ["127.0.0.1"], ports: [relayPort] });
  await operator.credentials.save(account, {
    transport: "smtp",
    host: "127.0.0.1",
    port: relayPort,
    username: "owner@example.com",
    apiKey: "md-network-kit-0123456789",
    fromEmail: "hello@example.com",
  });
}

async function sendError(sender: Sender, account: string): Promise<Error & { code?: string }> {
  try {
    await sender.send(account, { to: "alice@example.org", text: "x" });
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected the send to fail");
}

describe("network policy set once on mandrillKit()", () => {
  it("the sender connects by the kit's network policy when it has none of its own", async () => {
    await saveRelayAccount("relay-a");
    const kit = kitWith({ allow: ["127.0.0.1"], ports: [relayPort] });
    const sender = createSender({ context: kit.context });
    senders.push(sender);
    const error = await sendError(sender, "relay-a");
    // It reached the allowed relay (which is no SMTP server): the policy let it through.
    expect(error.message).toContain("not an SMTP server");
    expect(connections).toBe(1);
  });

  it("a kit without a network option leaves the sender on the default policy (private hosts refused)", async () => {
    await saveRelayAccount("relay-b");
    const sender = createSender({ context: kitWith().context });
    senders.push(sender);
    const error = await sendError(sender, "relay-b");
    expect(error.code).toBe("ERR_MK_NETWORK_REFUSED");
    expect(connections).toBe(0);
  });

  it("the sender's own network option wins over the kit's", async () => {
    await saveRelayAccount("relay-c");
    const kit = kitWith({ allow: ["127.0.0.1"], ports: [relayPort] });
    const sender = createSender({ context: kit.context, network: {} });
    senders.push(sender);
    const error = await sendError(sender, "relay-c");
    expect(error.code).toBe("ERR_MK_NETWORK_REFUSED");
    expect(connections).toBe(0);
  });

  it("the kit's policy is the save-time check too: the allowed relay can be saved, other private hosts cannot", async () => {
    const kit = kitWith({ allow: ["127.0.0.1"], ports: [relayPort] });
    const input = {
      transport: "smtp" as const,
      port: relayPort,
      username: "owner@example.com",
      apiKey: "md-network-kit-0123456789",
      fromEmail: "hello@example.com",
    };
    await expect(kit.credentials.save("relay-d", { ...input, host: "127.0.0.1" })).resolves.toBeDefined();
    await expect(kit.credentials.save("relay-e", { ...input, host: "10.0.0.1" })).rejects.toMatchObject({
      code: "ERR_MK_VALIDATION_FAILED",
    });
  });

  it("mandrillSender() after mandrillKit({ network }) accepts a loopback API base URL the kit allows", async () => {
    const kit = kitWith({ allow: ["127.0.0.1"] });
    const baseUrl = `http://127.0.0.1:${relayPort}/api/1.0/`;
    const middleware = mandrillSender({ api: { baseUrl, maxAttempts: 1 } });
    const app = express();
    app.use(kit, middleware);
    app.get("/ping", async (req, res) => {
      const outcome = await req.mandrill?.sender.api.call("users/ping2", "md-key").then(
        () => "answered",
        (error: { code?: string }) => error.code ?? "failed",
      );
      res.json({ outcome });
    });
    const response = await request(app).get("/ping");
    expect(response.status).toBe(200);
    expect(response.body.outcome).not.toBe("ERR_MK_NETWORK_REFUSED");
    expect(connections).toBe(1);
    await middleware.close();
  });

  it("mandrillSender() with a loopback API base URL the kit does not allow fails its first request (next(err)), connecting nowhere", async () => {
    const kit = kitWith();
    const middleware = mandrillSender({ api: { baseUrl: `http://127.0.0.1:${relayPort}/api/1.0/` } });
    const app = express();
    app.use(kit, middleware);
    app.get("/ping", (_req, res) => {
      res.json({ reached: true });
    });
    const onError: ErrorRequestHandler = (error, _req, res, _next) => {
      res.status(500).json({ code: error.code, option: error.option });
    };
    app.use(onError);
    const response = await request(app).get("/ping");
    expect(response.body).toEqual({ code: "ERR_MK_CONFIG_INVALID", option: "api.baseUrl" });
    expect(connections).toBe(0);
  });

  it("createSender({ context }) still refuses such a base URL when it is called", () => {
    expect(() =>
      createSender({ context: kitWith().context, api: { baseUrl: "http://169.254.169.254/api/1.0/" } }),
    ).toThrow(MandrillKitConfigError);
  });
});
