import { lookup as dnsLookup } from "node:dns/promises";
import { connect as netConnect, type Socket } from "node:net";
import type { HostLookup } from "@mandrill-kit/core";
import { checkAddress, type NetworkPolicy, normalizeHost, parseIpLiteral } from "@mandrill-kit/core/plugin";
import { buildConnector } from "undici";

/** The one address a connection goes to: resolved once, checked, then connected to as is. */
export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

/** A failure while connecting, with the code Node, nodemailer and undici use (`ECONNREFUSED`, `ETIMEDOUT`…). */
export class ConnectError extends Error {
  readonly code: string;
  /** nodemailer's name for the phase: a failure here happened before anything was sent. */
  readonly command = "CONN";

  constructor(code: string, message: string) {
    super(message);
    this.name = "ConnectError";
    this.code = code;
  }
}

/**
 * Every outgoing connection of the sender goes through here. A host name is resolved once, every
 * address it resolved to is checked against the policy, and the socket connects to the checked
 * address (the name stays for TLS SNI and certificate checks) — so a name that answers differently
 * the next time (DNS rebinding) cannot reach an address that was not checked.
 */
export interface NetworkGuard {
  readonly policy: NetworkPolicy;
  /**
   * Resolves and checks `host` for a connection to `port` (an `allow` entry may name one port);
   * rejects with `MandrillKitNetworkError` or a {@link ConnectError}.
   */
  resolve(host: string, port: number, timeoutMs: number): Promise<CheckedAddress>;
  /** A TCP connection to `host:port` through {@link NetworkGuard.resolve}. */
  connect(host: string, port: number, timeoutMs: number): Promise<Socket>;
  /** An undici connector that connects through {@link NetworkGuard.resolve}. */
  connector(timeoutMs: number): buildConnector.connector;
}

const systemLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

function deadline<T>(promise: Promise<T>, ms: number, code: string, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectError(code, message)), Math.max(ms, 1));
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Creates the guard for `policy`. */
export function createNetworkGuard(policy: NetworkPolicy): NetworkGuard {
  const lookup = policy.lookup ?? systemLookup;

  async function resolve(host: string, port: number, timeoutMs: number): Promise<CheckedAddress> {
    const literal = parseIpLiteral(host);
    if (literal !== undefined) {
      const refusal = checkAddress(policy, host, literal, port);
      if (refusal !== undefined) throw refusal;
      // The canonical spelling: the system resolver is never asked to interpret `0x7f.1`.
      return { address: literal.toString(), family: literal.kind() === "ipv4" ? 4 : 6 };
    }
    let answers: readonly { address: string; family: number }[];
    try {
      answers = await deadline(lookup(normalizeHost(host)), timeoutMs, "EAI_AGAIN", "DNS lookup timed out");
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      const code = (error as { code?: unknown }).code;
      throw new ConnectError(typeof code === "string" ? code : "ENOTFOUND", "DNS lookup failed");
    }
    const first = answers[0];
    if (first === undefined) throw new ConnectError("ENOTFOUND", "DNS lookup found no address");
    // Every answer is checked: a name with one private address among public ones is refused.
    for (const answer of answers) {
      const refusal = checkAddress(policy, host, answer.address, port);
      if (refusal !== undefined) throw refusal;
    }
    return { address: first.address, family: first.family === 6 ? 6 : 4 };
  }

  async function connect(host: string, port: number, timeoutMs: number): Promise<Socket> {
    const started = Date.now();
    const target = await resolve(host, port, timeoutMs);
    const socket = netConnect({ host: target.address, port, family: target.family });
    const connecting = new Promise<Socket>((done, fail) => {
      socket.once("connect", () => {
        socket.removeAllListeners("error");
        done(socket);
      });
      socket.once("error", (error: Error & { code?: string }) =>
        fail(new ConnectError(error.code ?? "ECONNECTION", "connection failed")),
      );
    });
    try {
      return await deadline(
        connecting,
        timeoutMs - (Date.now() - started),
        "ETIMEDOUT",
        "connection timed out",
      );
    } catch (error) {
      socket.destroy();
      throw error;
    }
  }

  function connector(timeoutMs: number): buildConnector.connector {
    const base = buildConnector({ timeout: timeoutMs });
    return (options, callback) => {
      // undici leaves `port` empty for the scheme's default port.
      const port = Number(options.port) || (options.protocol === "https:" ? 443 : 80);
      resolve(options.hostname, port, timeoutMs).then(
        // `host` (the URL's) still names the server, so TLS checks the certificate against it.
        (target) => base({ ...options, hostname: target.address }, callback),
        (error: Error) => callback(error, null),
      );
    };
  }

  return { policy, resolve, connect, connector };
}
