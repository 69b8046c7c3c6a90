import { createServer, type Server, type Socket } from "node:net";
import { inspect } from "node:util";
import {
  type CredentialsReader,
  createMemoryStore,
  type HostLookup,
  type Logger,
  MandrillKitConfigError,
  type MandrillSettings,
  type NetworkPolicyOptions,
  Secret,
  type Store,
} from "@mandrill-kit/core";
import { addKey, mandrillKit } from "@mandrill-kit/credentials";
import { createSender, type Sender, type SenderOptions } from "@mandrill-kit/sender";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PUBLIC_URL } from "./helpers.js";

const BANNER = "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5";

/** A TCP server that counts the connections it gets; `greet` is what it says to each (then hangs up). */
interface Listener {
  server: Server;
  port: number;
  connections: number;
  sockets: Set<Socket>;
}

async function listen(host: string, port = 0, greet = `${BANNER}\r\n`): Promise<Listener> {
  const listener: Listener = { server: createServer(), port: 0, connections: 0, sockets: new Set() };
  listener.server.on("connection", (socket: Socket) => {
    listener.connections += 1;
    listener.sockets.add(socket);
    socket.on("close", () => listener.sockets.delete(socket));
    socket.on("error", () => {});
    socket.end(greet);
  });
  await new Promise<void>((resolve, reject) => {
    listener.server.once("error", reject);
    listener.server.listen(port, host, resolve);
  });
  const address = listener.server.address();
  listener.port = typeof address === "object" && address !== null ? address.port : 0;
  return listener;
}

function close(l: Listener | undefined): Promise<void> {
  if (l === undefined) return Promise.resolve();
  for (const socket of l.sockets) socket.destroy();
  return new Promise<void>((resolve) => l.server.close(() => resolve()));
}

/** A resolver that needs no DNS: `answers` per name, in turn (the last one repeats); it counts calls. */
function fakeLookup(answers: Record<string, string[][]>): HostLookup & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (hostname: string) => {
    calls.push(hostname);
    const list = answers[hostname];
    const answer = list?.[Math.min(calls.filter((c) => c === hostname).length, list.length) - 1];
    if (answer === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return answer.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return Object.assign(lookup, { calls });
}

/** Settings as a tenant saved them before any save-time check existed (bypassing validation). */
function savedSettings(overrides: Partial<MandrillSettings>): CredentialsReader {
  const settings: MandrillSettings = {
    account: "tenant",
    version: 1,
    transport: "smtp",
    host: "smtp.mandrillapp.com",
    port: 587,
    username: "owner@example.com",
    apiKey: new Secret("md-tenant-key-0123456789"),
    fromEmail: "hello@example.com",
    fromName: "Tenant",
    replyTo: null,
    subaccount: null,
    webhookKeys: [],
    unsubscribeMode: "mandrill",
    lastVerification: null,
    createdAt: 0,
    updatedAt: 0,
    ...overrides,
  };
  return {
    get: async (account) => (account === settings.account ? settings : undefined),
    webhookKeys: async () => [],
    callbackUrl: (account) => `${PUBLIC_URL}/webhooks/mandrill/${account}`,
    recordVerification: async () => {},
  };
}

/** A logger that keeps every entry (errors rendered with util.inspect, causes included). */
function recordingLogger(): Logger & { text(): string } {
  const lines: string[] = [];
  const keep = (level: string) => (context: unknown, message?: string) => {
    lines.push(`${level} ${message ?? ""} ${inspect(context, { depth: 10 })}`);
  };
  return {
    debug: keep("debug"),
    info: keep("info"),
    warn: keep("warn"),
    error: keep("error"),
    text: () => lines.join("\n"),
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected the promise to reject");
    },
    (e: unknown) => e as Error,
  );
}

let store: Store;
const senders: Sender[] = [];
/** Every loopback address on one port, IPv4 and IPv6: a refused form that slipped through lands here. */
let trap: Listener;

function senderWith(options: SenderOptions): Sender {
  const sender = createSender({ store, api: { maxAttempts: 1 }, ...options });
  senders.push(sender);
  return sender;
}

beforeAll(async () => {
  store = createMemoryStore();
  trap = await listen("::");
});

afterEach(() => {
  trap.connections = 0;
});

afterAll(async () => {
  for (const s of senders) await s.close();
  await close(trap);
  await store.close();
});

const PRIVATE_HOSTS = [
  "127.0.0.1",
  "127.1",
  "0x7f.1",
  "2130706433",
  "0177.0.0.1",
  "0x7f000001",
  "::1",
  "[::1]",
  "::ffff:127.0.0.1",
  "::ffff:7f00:1",
  "::127.0.0.1",
  "0.0.0.0",
  "0",
  "::",
  "10.0.0.1",
  "172.16.5.4",
  "192.168.1.10",
  "169.254.169.254",
  "::ffff:169.254.169.254",
  "100.64.0.1",
  "fe80::1",
  "fc00::1",
  "224.0.0.1",
  "198.18.0.1",
];

describe("SSRF through the saved SMTP host: refused before any socket opens", () => {
  it.each(PRIVATE_HOSTS)(
    "refuses to send through %s, and no connection reaches a listening server",
    async (host) => {
      const lookup = fakeLookup({});
      const sender = senderWith({
        credentials: savedSettings({ host, port: trap.port }),
        // The operator allows the port, not the address: only the address check stands in the way.
        network: { ports: [trap.port], lookup },
      });
      const error = await rejection(sender.send("tenant", { to: "alice@example.org", text: "x" }));
      expect(error).toMatchObject({ code: "ERR_MK_NETWORK_REFUSED", reason: "address" });
      expect(error.message).toContain("address not allowed (private network)");
      expect(lookup.calls).toEqual([]);
      expect(trap.connections).toBe(0);
    },
  );

  it("refuses the same hosts in the test email and the diagnosis, in plain words", async () => {
    const lookup = fakeLookup({});
    for (const host of ["0x7f.1", "::ffff:7f00:1", "169.254.169.254"]) {
      const sender = senderWith({
        credentials: savedSettings({ host, port: trap.port }),
        network: { ports: [trap.port], lookup },
      });
      const report = await sender.sendTestEmail("tenant", "admin@example.org");
      expect(report.ok).toBe(false);
      expect(report.error).toMatchObject({ code: "ERR_MK_NETWORK_REFUSED" });
      expect(report.summary).toContain("address not allowed (private network)");
      const smtp = report.diagnosis?.checks.find((c) => c.id === "smtp");
      expect(smtp).toMatchObject({ status: "fail" });
      expect(smtp?.detail).toContain("address not allowed (private network)");
    }
    expect(trap.connections).toBe(0);
  });

  it("refuses a port outside Mandrill's SMTP ports even on a public host", async () => {
    const lookup = fakeLookup({ "mail.example.net": [["34.212.10.1"]] });
    const sender = senderWith({
      credentials: savedSettings({ host: "mail.example.net", port: 22 }),
      network: { lookup },
    });
    const error = await rejection(sender.send("tenant", { to: "alice@example.org", text: "x" }));
    expect(error).toMatchObject({ code: "ERR_MK_NETWORK_REFUSED", reason: "port" });
    expect(lookup.calls).toEqual([]);
  });

  it("refuses a name that resolves to a private address (DNS), over SMTP and the API alike", async () => {
    const lookup = fakeLookup({
      "mail.attacker.example": [["127.0.0.1"]],
      "api.attacker.example": [["::1"]],
      "mixed.attacker.example": [["34.212.10.1", "10.0.0.7"]],
    });
    const network: NetworkPolicyOptions = { ports: [trap.port], lookup };
    for (const host of ["mail.attacker.example", "mixed.attacker.example"]) {
      const sender = senderWith({ credentials: savedSettings({ host, port: trap.port }), network });
      const error = await rejection(sender.send("tenant", { to: "alice@example.org", text: "x" }));
      expect(error, host).toMatchObject({ code: "ERR_MK_NETWORK_REFUSED" });
      expect(error.message).not.toMatch(/127\.0\.0\.1|10\.0\.0\.7/);
    }
    const viaApi = senderWith({
      credentials: savedSettings({ transport: "api" }),
      api: { baseUrl: `http://api.attacker.example:${trap.port}/api/1.0/`, maxAttempts: 1 },
      network,
    });
    const error = await rejection(viaApi.send("tenant", { to: "alice@example.org", text: "x" }));
    expect(error).toMatchObject({ code: "ERR_MK_NETWORK_REFUSED" });
    expect(trap.connections).toBe(0);
  });

  it.each([
    "http://127.0.0.1/api/1.0/",
    "http://0x7f.1/api/1.0/",
    "http://2130706433/api/1.0/",
    "http://[::ffff:127.0.0.1]/api/1.0/",
    "http://169.254.169.254/latest/meta-data/",
  ])("refuses the API base URL %s when the sender is created", (baseUrl) => {
    expect(() => createSender({ store, credentials: savedSettings({}), api: { baseUrl } })).toThrow(
      MandrillKitConfigError,
    );
    expect(() => createSender({ store, credentials: savedSettings({}), api: { baseUrl } })).toThrow(
      /network: \{ allow/,
    );
  });
});

describe("DNS rebinding", () => {
  let checked: Listener;
  let internal: Listener;

  beforeAll(async () => {
    // 127.0.0.2 stands for the address that passed the check (the operator allows it); 127.0.0.1 on
    // the same port for the internal service the second answer points at.
    checked = await listen("127.0.0.2");
    internal = await listen("127.0.0.1", checked.port);
  });

  afterAll(async () => {
    await close(checked);
    await close(internal);
  });

  it("connects to the address it checked; a second answer pointing inside is refused, never connected", async () => {
    const lookup = fakeLookup({ "rebind.attacker.example": [["127.0.0.2"], ["127.0.0.1"]] });
    const network = { allow: ["127.0.0.2/32"], ports: [checked.port], lookup };
    const smtp = senderWith({
      credentials: savedSettings({ host: "rebind.attacker.example", port: checked.port }),
      network,
    });
    const first = await rejection(smtp.send("tenant", { to: "alice@example.org", text: "x" }));
    expect(first.message).toContain("not an SMTP server");
    const second = await rejection(smtp.send("tenant", { to: "alice@example.org", text: "x" }));
    expect(second).toMatchObject({ code: "ERR_MK_NETWORK_REFUSED" });
    // One resolution per connection: nothing resolves the name again between the check and the connect.
    expect(lookup.calls).toEqual(["rebind.attacker.example", "rebind.attacker.example"]);
    expect(checked.connections).toBe(1);
    expect(internal.connections).toBe(0);
  });

  it("holds for the API client's connections too", async () => {
    const lookup = fakeLookup({ "rebind.attacker.example": [["127.0.0.2"], ["127.0.0.1"]] });
    const sender = senderWith({
      credentials: savedSettings({ transport: "api" }),
      api: { baseUrl: `http://rebind.attacker.example:${checked.port}/api/1.0/`, maxAttempts: 1 },
      network: { allow: ["127.0.0.2/32"], lookup },
    });
    checked.connections = 0;
    await rejection(sender.api.call("users/ping2", "md-key"));
    const second = await rejection(sender.api.call("users/ping2", "md-key"));
    expect(second).toMatchObject({ code: "ERR_MK_NETWORK_REFUSED" });
    expect(checked.connections).toBe(1);
    expect(internal.connections).toBe(0);
  });
});

describe("what a tenant sees of the peer (opt-out on: a real SSH server on loopback)", () => {
  let ssh: Listener;

  beforeAll(async () => {
    ssh = await listen("127.0.0.1");
  });

  afterAll(async () => {
    await close(ssh);
  });

  it("says 'not an SMTP server', with no banner bytes in the error, the report, the diagnosis or the log", async () => {
    const network = { allowPrivate: true, ports: [ssh.port] };
    const kit = mandrillKit({ store, keys: addKey(undefined, "k1"), publicUrl: PUBLIC_URL, network });
    await kit.credentials.save("probe", {
      transport: "smtp",
      host: "127.0.0.1",
      port: ssh.port,
      username: "owner@example.com",
      apiKey: "md-probe-key-0123456789",
      fromEmail: "hello@example.com",
    });
    const logger = recordingLogger();
    const sender = senderWith({
      context: kit.context,
      logger,
      network,
      api: { baseUrl: "http://127.0.0.1:9/api/1.0/", maxAttempts: 1 },
    });

    const error = await rejection(sender.send("probe", { to: "alice@example.org", text: "x" }));
    const report = await sender.sendTestEmail("probe", "admin@example.org");
    const diagnosis = await sender.diagnose("probe");

    expect(error.message).toContain("not an SMTP server");
    expect(report.error?.message).toContain("not an SMTP server");
    expect(diagnosis.checks.find((c) => c.id === "smtp")?.detail).toContain("not an SMTP server");
    const seen = [
      inspect(error, { depth: 10 }),
      JSON.stringify(report),
      JSON.stringify(diagnosis),
      logger.text(),
    ];
    for (const text of seen) {
      expect(text).not.toContain("SSH-2.0");
      expect(text).not.toContain("OpenSSH");
    }
    expect(ssh.connections).toBeGreaterThanOrEqual(3);
  });
});

describe("what a tenant sees of a hostile peer: plain words, never its bytes (opt-out on, real servers on loopback)", () => {
  const MARKER = "INTERNAL-SERVICE-7f3a";
  const servers: Server[] = [];
  const open = new Set<Socket>();

  /** A loopback TCP server running `onSocket` for each connection; resolves its port. */
  async function serve(onSocket: (socket: Socket) => void): Promise<number> {
    const server = createServer((socket) => {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => {});
      onSocket(socket);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as { port: number }).port;
  }

  afterAll(async () => {
    for (const socket of open) socket.destroy();
    for (const server of servers) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  async function tenantSees(port: number): Promise<{ error: Error; seen: string[] }> {
    const logger = recordingLogger();
    const sender = senderWith({
      credentials: savedSettings({ host: "127.0.0.1", port }),
      network: { allowPrivate: true, ports: [port] },
      smtp: { connectionTimeoutMs: 500 },
      logger,
    });
    const error = await rejection(sender.send("tenant", { to: "alice@example.org", text: "x" }));
    const report = await sender.sendTestEmail("tenant", "admin@example.org");
    return { error, seen: [inspect(error, { depth: 10 }), JSON.stringify(report), logger.text()] };
  }

  it("a closed port: 'connection refused'", async () => {
    const port = await serve(() => {});
    const server = servers.pop() as Server;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const { error } = await tenantSees(port);
    expect(error.message).toContain("connection refused");
  });

  it("a server that accepts and never speaks: 'timed out'", async () => {
    const port = await serve(() => {});
    const { error } = await tenantSees(port);
    expect(error.message).toContain("timed out");
  });

  it("an SMTP-speaking internal service without STARTTLS: 'TLS failed', none of its greeting or EHLO text", async () => {
    const port = await serve((socket) => {
      socket.write(`220 ${MARKER} ESMTP ready\r\n`);
      socket.on("data", (data: Buffer) => {
        const line = data.toString();
        if (/^(EHLO|HELO)/i.test(line)) socket.write(`250-${MARKER} hello\r\n250 AUTH PLAIN LOGIN\r\n`);
        else if (/^QUIT/i.test(line)) socket.end(`221 ${MARKER} bye\r\n`);
        else socket.write(`502 ${MARKER} unknown\r\n`);
      });
    });
    const { error, seen } = await tenantSees(port);
    expect(error.message).toContain("TLS failed");
    for (const text of seen) expect(text).not.toContain(MARKER);
  });
});

describe("a port-scoped allow entry (the example's simulator mode: allow names the simulator's port only)", () => {
  let simulator: Listener;
  let loopbackService: Listener;

  beforeAll(async () => {
    // The simulator the operator allows, and another loopback service a tenant must not reach.
    simulator = await listen("127.0.0.1");
    loopbackService = await listen("127.0.0.1");
  });

  afterAll(async () => {
    await close(simulator);
    await close(loopbackService);
  });

  function scoped(lookup: HostLookup): NetworkPolicyOptions {
    // Both ports are SMTP ports an account may use; only the simulator's address:port is allowed.
    return { allow: [`127.0.0.1:${simulator.port}`], ports: [simulator.port, loopbackService.port], lookup };
  }

  it("a tenant host name resolving to 127.0.0.1 on another allowed mail port is refused; nothing connects", async () => {
    const lookup = fakeLookup({ "loopback.attacker.example": [["127.0.0.1"]] });
    const smtp = senderWith({
      credentials: savedSettings({ host: "loopback.attacker.example", port: loopbackService.port }),
      network: scoped(lookup),
    });
    const error = await rejection(smtp.send("tenant", { to: "alice@example.org", text: "x" }));
    expect(error).toMatchObject({ code: "ERR_MK_NETWORK_REFUSED", reason: "address" });
    expect(loopbackService.connections).toBe(0);
  });

  it("the API client is held to the same port: another loopback port is refused, nothing connects", async () => {
    const lookup = fakeLookup({ "loopback.attacker.example": [["127.0.0.1"]] });
    const sender = senderWith({
      credentials: savedSettings({ transport: "api" }),
      api: { baseUrl: `http://loopback.attacker.example:${loopbackService.port}/api/1.0/`, maxAttempts: 1 },
      network: scoped(lookup),
    });
    const error = await rejection(sender.api.call("users/ping2", "md-key"));
    expect(error).toMatchObject({ code: "ERR_MK_NETWORK_REFUSED" });
    expect(loopbackService.connections).toBe(0);
  });

  it("the allowed address:port still connects (by name and by literal)", async () => {
    const lookup = fakeLookup({ "loopback.attacker.example": [["127.0.0.1"]] });
    for (const host of ["loopback.attacker.example", "127.0.0.1"]) {
      const before = simulator.connections;
      const smtp = senderWith({
        credentials: savedSettings({ host, port: simulator.port }),
        network: scoped(lookup),
      });
      // The stand-in greets like SSH: the connection was made, and the tenant is told in plain words.
      const error = await rejection(smtp.send("tenant", { to: "alice@example.org", text: "x" }));
      expect(error.message, host).toContain("not an SMTP server");
      expect(simulator.connections, host).toBe(before + 1);
    }
    expect(loopbackService.connections).toBe(0);
  });
});
