import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, killChildren, type ServerProcess, spawnServer } from "./helpers.js";
import { figure, SLICE, sizes } from "./sizes.js";

/*
 * Issue 13, item 6 (slowloris): connections that trickle their headers or their body one byte at a time
 * used to be held for Node's 300 s default. The example server (its own process, unchanged main.ts)
 * must cut every one of them off at its deadline — 30 s by default (HTTP_REQUEST_TIMEOUT_MS), shortened
 * for the CI slice — with 408, while it keeps answering other clients.
 */

const deadlineMs = sizes.slowDeadlineMs;
/** The headers deadline: a third of the request deadline (the defaults are 10 s and 30 s). */
const headersDeadlineMs = Math.ceil(deadlineMs / 3);
/** Each trickle would last ten deadlines if the server let it. */
const TRICKLE_BYTES = 10 * Math.ceil(deadlineMs / 500);
/**
 * Node checks the deadlines once a second (the server's connectionsCheckingInterval); the rest of the
 * slack is scheduling on a loaded 2-core machine.
 */
const SLACK_MS = 5_000;

let dataDir: string;
let server: ServerProcess;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "mk-reliability-slow-"));
  server = await spawnServer({
    dataDir,
    publicUrl: "https://hooks.example.test",
    env: {
      MANDRILL_SIMULATOR: "off",
      MANDRILL_API_URL: "http://127.0.0.1:9/",
      HTTP_REQUEST_TIMEOUT_MS: String(deadlineMs),
      HTTP_HEADERS_TIMEOUT_MS: String(headersDeadlineMs),
    },
  });
});
afterAll(async () => {
  killChildren();
  await rm(dataDir, { recursive: true, force: true });
});

interface Trickle {
  kind: "body" | "headers";
  openedAt: number;
  closedAt?: number;
  /** Bytes of the trickled part written before the server closed the connection. */
  written: number;
  answer: string;
}

/** One slow client: the request's start, then one byte every 500 ms of its headers or of its body. */
function trickle(kind: Trickle["kind"], i: number): Trickle {
  const t: Trickle = { kind, openedAt: Date.now(), written: 0, answer: "" };
  const socket = connect(server.port, "127.0.0.1");
  socket.on("data", (d: Buffer) => {
    t.answer += d.toString();
  });
  socket.on("error", () => undefined);
  socket.on("close", () => {
    t.closedAt = Date.now();
    clearInterval(timer);
  });
  socket.write(
    kind === "body"
      ? `POST /webhooks/mandrill/acme HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${TRICKLE_BYTES}\r\n\r\n`
      : `GET /login HTTP/1.1\r\nHost: x\r\nX-Slow-${i}: `,
  );
  const timer = setInterval(() => {
    if (t.written >= TRICKLE_BYTES) {
      clearInterval(timer);
      return;
    }
    socket.write("a");
    t.written += 1;
  }, 500);
  return t;
}

describe(`slow clients (${SLICE}: ${sizes.slowConnections} connections, ${deadlineMs / 1000} s deadline)`, () => {
  it(
    `cuts off ${sizes.slowConnections} connections trickling their headers or body at the deadline, and keeps serving`,
    async () => {
      const trickles = Array.from({ length: sizes.slowConnections }, (_, i) =>
        trickle(i % 2 === 0 ? "body" : "headers", i),
      );
      // Other clients are served while the slow ones hold their connections.
      const healthMs: number[] = [];
      const healthErrors: string[] = [];
      const healthLoop = (async () => {
        while (trickles.some((t) => t.closedAt === undefined)) {
          const began = Date.now();
          try {
            const r = await fetch(`${server.url}/healthz`);
            await r.arrayBuffer();
            if (r.status === 200) healthMs.push(Date.now() - began);
            else healthErrors.push(`HTTP ${r.status}`);
          } catch (error) {
            healthErrors.push((error as Error).message);
          }
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      })();
      await eventually(() => trickles.every((t) => t.closedAt !== undefined), deadlineMs + SLACK_MS + 10_000);
      await healthLoop;

      const heldMs = (kind: Trickle["kind"]) =>
        trickles.filter((t) => t.kind === kind).map((t) => (t.closedAt as number) - t.openedAt);
      const answers = new Map<string, number>();
      for (const t of trickles) {
        const status = /^HTTP\/1\.1 (\d{3})/.exec(t.answer)?.[1] ?? "none";
        answers.set(status, (answers.get(status) ?? 0) + 1);
      }
      figure("slow-clients", {
        connections: trickles.length,
        requestDeadlineMs: deadlineMs,
        headersDeadlineMs,
        answers: Object.fromEntries(answers),
        bodyHeldMs: { min: Math.min(...heldMs("body")), max: Math.max(...heldMs("body")) },
        headersHeldMs: { min: Math.min(...heldMs("headers")), max: Math.max(...heldMs("headers")) },
        maxBytesTrickledBeforeCutOff: Math.max(...trickles.map((t) => t.written)),
        trickleBytesEach: TRICKLE_BYTES,
        healthChecks: healthMs.length,
        healthMaxMs: Math.max(0, ...healthMs),
        healthErrors: healthErrors.length,
      });

      expect(answers.get("408")).toBe(trickles.length);
      // Every client was cut off by the server, long before its trickle would have ended…
      for (const t of trickles) expect(t.written).toBeLessThan(TRICKLE_BYTES);
      // …at its deadline (bodies at the request deadline, headers at the headers deadline).
      expect(Math.max(...heldMs("body"))).toBeLessThanOrEqual(deadlineMs + SLACK_MS);
      expect(Math.max(...heldMs("headers"))).toBeLessThanOrEqual(headersDeadlineMs + SLACK_MS);
      expect(healthErrors).toEqual([]);
      expect(healthMs.length).toBeGreaterThan(0);
      expect(server.child.exitCode).toBeNull();
    },
    10 * 60_000,
  );
});
