import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import type { Socket } from "node:net";

/** How long a client may take: the whole request, its headers (also a new connection's first bytes), idle. */
export interface HttpTimeouts {
  /** Receiving a whole request, body included: a trickled body is cut off (408) after this. */
  requestTimeoutMs: number;
  /** Receiving the request line and headers; a connection that sends nothing is closed after this too. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
}

/** The defaults: a slow client is cut off long before Node's own 300 s request timeout. */
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
};

/**
 * The example's HTTP server, guarded against slow clients (slowloris: many connections trickling
 * headers or a body to hold sockets and memory). Node checks the header and request deadlines only
 * every `connectionsCheckingInterval` (30 s by default); it is shortened so each deadline is kept to
 * within a second.
 */
export function createHttpServer(timeouts: Partial<HttpTimeouts> = {}, listener?: RequestListener): Server {
  const t = { ...DEFAULT_HTTP_TIMEOUTS, ...timeouts };
  const headersTimeout = Math.min(t.headersTimeoutMs, t.requestTimeoutMs);
  const server = createServer({
    requestTimeout: t.requestTimeoutMs,
    headersTimeout,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
  });
  server.keepAliveTimeout = t.keepAliveTimeoutMs;
  // Node starts the headers deadline at a request's first byte: a connection that never sends one was
  // kept for ever (slowloris without the trickle). It gets the headers deadline as an idle timeout until
  // its first request arrives (then requestTimeout, and keepAliveTimeout between requests, apply).
  server.on("connection", (socket: Socket) => {
    socket.setTimeout(headersTimeout);
  });
  server.on("request", (req: IncomingMessage) => {
    req.socket.setTimeout(0);
  });
  if (listener !== undefined) server.on("request", listener);
  return server;
}
