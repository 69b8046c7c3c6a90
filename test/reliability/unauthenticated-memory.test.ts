import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  killChildren,
  MEMORY_PROBE_ENTRY,
  median,
  mib,
  type ProcMemory,
  procMemory,
  roundMemory,
  type ServerProcess,
  settledMemory,
  spawnServer,
} from "./helpers.js";
import { FULL, figure, SLICE, sizes } from "./sizes.js";

/*
 * Issue 13, item 5: requests that carry no credential must not grow the server's memory. Half the load
 * is `GET /login` without a cookie (each used to create an 8-hour session), half are webhook POSTs to
 * account ids that do not exist, each a new one (each used to be cached for ever). The server runs alone
 * in its own process (the soak's fixture, with a GC-and-report probe); its resident set is read from
 * /proc/<pid>/status after a forced GC before and after the load.
 */

const PUBLIC_URL = "https://hooks.example.test";
/** The issue's bound: the resident set stays within ±20 MiB over the load. */
const RSS_BOUND_MIB = 20;
const CONCURRENCY = 16;

let dataDir: string;
let server: ServerProcess;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "mk-reliability-unauth-"));
  server = await spawnServer({
    dataDir,
    publicUrl: PUBLIC_URL,
    entry: MEMORY_PROBE_ENTRY,
    nodeArgs: ["--expose-gc"],
    // No Mandrill is needed: none of these requests reaches it (nothing listens on port 9).
    env: { MANDRILL_SIMULATOR: "off", MANDRILL_API_URL: "http://127.0.0.1:9/" },
  });
});
afterAll(async () => {
  killChildren();
  await rm(dataDir, { recursive: true, force: true });
});

/** Request `n` of the load: even ones GET /login, odd ones a webhook to a new unknown account. */
async function unauthenticated(n: number): Promise<number> {
  const response =
    n % 2 === 0
      ? await fetch(`${server.url}/login`)
      : await fetch(`${server.url}/webhooks/mandrill/nobody-${n}`, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            "x-mandrill-signature": "bm90IGEgc2lnbmF0dXJl",
          },
          body: `mandrill_events=${encodeURIComponent(JSON.stringify([{ event: "hard_bounce", _id: `id-${n}`, ts: 1 }]))}`,
        });
  await response.arrayBuffer();
  return response.status;
}

async function load(from: number, count: number, statuses: Map<number, number>): Promise<void> {
  let next = from;
  const end = from + count;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < end) {
        const status = await unauthenticated(next++);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
}

describe(`unauthenticated memory (${SLICE}: ${sizes.unauthenticatedRequests} requests)`, () => {
  it(
    `keeps the server's resident set within ±${RSS_BOUND_MIB} MiB over ${sizes.unauthenticatedRequests} requests without credentials`,
    async () => {
      // Warm up (JIT, pools, caches) before the baseline.
      await load(0, Math.min(5_000, Math.ceil(sizes.unauthenticatedRequests / 4)), new Map());
      // Both ends once the resident set has settled: a single probe right after the warm-up (or the
      // load) can catch it still falling as freed pages go back to the system.
      const start = await settledMemory(server);
      const pid = server.child.pid as number;
      const samples: ProcMemory[] = [];
      const sampler = setInterval(
        () => {
          const m = procMemory(pid);
          if (m !== undefined) samples.push(m);
        },
        FULL ? 2_000 : 500,
      );
      const statuses = new Map<number, number>();
      const began = Date.now();
      await load(1_000_000, sizes.unauthenticatedRequests, statuses);
      const seconds = (Date.now() - began) / 1000;
      clearInterval(sampler);
      const end = await settledMemory(server);
      const serverLog = server
        .err()
        .split("\n")
        .filter((l) => l.trim() !== "");

      figure("unauthenticated-memory", {
        requests: sizes.unauthenticatedRequests,
        seconds: Math.round(seconds),
        statuses: Object.fromEntries(statuses),
        rssStartMiB: Math.round(start.proc.rss),
        rssEndMiB: Math.round(end.proc.rss),
        rssGrowthMiB: Math.round(end.proc.rss - start.proc.rss),
        rssPeakMiB: Math.round(Math.max(...samples.map((m) => m.rss), end.proc.rss)),
        rssMedianDuringMiB: samples.length === 0 ? null : Math.round(median(samples.map((m) => m.rss))),
        rssStart: roundMemory(start.proc),
        rssEnd: roundMemory(end.proc),
        heapUsedStartMiB: mib(start.heap.heapUsed),
        heapUsedEndMiB: mib(end.heap.heapUsed),
        forcedGc: end.heap.gc,
        probesToSettle: { start: start.probes, end: end.probes },
        settled: { start: start.settled, end: end.settled },
        serverLogLines: serverLog.length,
      });

      expect(end.heap.gc, "the probe must run a full GC (--expose-gc)").toBe(true);
      expect(statuses.get(200)).toBe(sizes.unauthenticatedRequests / 2);
      expect(statuses.get(401)).toBe(sizes.unauthenticatedRequests / 2);
      expect(Math.abs(end.proc.rss - start.proc.rss)).toBeLessThanOrEqual(RSS_BOUND_MIB);
      expect(server.child.exitCode).toBeNull();
    },
    30 * 60_000,
  );
});
