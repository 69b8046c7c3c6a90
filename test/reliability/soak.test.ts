import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InboxStats } from "@mandrill-kit/core";
import { type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { eventFixtures, signWebhook } from "@mandrill-kit/webhooks/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCOUNT,
  ADMIN_TOKEN,
  eventually,
  killChildren,
  MEMORY_PROBE_ENTRY,
  median,
  mib,
  type ProcMemory,
  probeMemory,
  procMemory,
  roundMemory,
  type ServerProcess,
  saveSettings,
  spawnServer,
  WEBHOOK_KEY,
} from "./helpers.js";
import { FULL, figure, SLICE, sizes } from "./sizes.js";

/*
 * The soak measures the example server alone: the server runs in a process of its own (the unchanged
 * examples/server/src/main.ts, through a fixture that adds a GC-and-report probe on SIGUSR2), talking to
 * a simulator that runs here, in the test process, with the load generator. The simulator keeps every
 * message it accepted (it is a test double), and undici and the generator allocate per request; none of
 * that is in the figure. The server's memory is read from /proc/<pid>/status (`ps` where there is no /proc).
 */

const PUBLIC_URL = "https://hooks.example.test";
const CALLBACK_URL = `${PUBLIC_URL}/webhooks/mandrill/${ACCOUNT}`;

/**
 * A bound on memory, not on time: 150 MiB beyond the SQLite page cache the store is allowed to fill
 * (cacheSizeBytes, 64 MiB by default), which grows with the database during the run by design.
 */
const RSS_GROWTH_BOUND_MIB = 150 + 64;

/** The load runs for soakSeconds; start, warm-up, drain, probes and the stop take the rest. */
const TIMEOUT_MS = sizes.soakSeconds * 1000 + 120_000;

let dataDir: string;
let sim: Simulator;
let server: ServerProcess;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "mk-reliability-soak-"));
  sim = await startSimulator({ acceptAnyKey: (key) => !key.startsWith("invalid"), flushIntervalMs: 0 });
  server = await spawnServer({
    dataDir,
    publicUrl: PUBLIC_URL,
    entry: MEMORY_PROBE_ENTRY,
    nodeArgs: ["--expose-gc"],
    // The server's own Mandrill client talks to the simulator above, as it would to mandrillapp.com. The
    // load comes from one address: the demo send route's per-client limit is lifted for it.
    env: { MANDRILL_SIMULATOR: "off", MANDRILL_API_URL: sim.apiUrl, RATE_LIMIT_SEND: "1000000000/1s" },
  });
  await saveSettings(server.url);
});
afterAll(async () => {
  killChildren();
  await sim?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function inboxStats(): Promise<InboxStats> {
  const r = await fetch(`${server.url}/api/accounts/${ACCOUNT}/events?limit=1`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  if (r.status !== 200) throw new Error(`events answered ${r.status}: ${await r.text()}`);
  return ((await r.json()) as { stats: InboxStats }).stats;
}

describe(`soak (${SLICE}: ${sizes.soakSeconds} s)`, () => {
  it(
    `serves ${sizes.soakSeconds} s of mixed webhook and send load with no error and bounded memory growth`,
    async () => {
      const counts = { batches: 0, events: 0, sends: 0, errors: 0 };
      const failures: string[] = [];
      let eventsAcknowledged = 0;
      let seq = 0;
      let stop = false;

      async function webhookLoop(): Promise<void> {
        while (!stop) {
          const n = seq++;
          const events = [
            eventFixtures.hard_bounce({ email: `soak-b${n}@example.net`, id: `soak-${n}-hb` }),
            ...Array.from({ length: 19 }, (_, i) =>
              eventFixtures[i % 2 === 0 ? "delivered" : "open"]({
                email: `soak${i}@example.com`,
                id: `soak-${n}-${i}`,
              }),
            ),
          ];
          const signed = signWebhook({ key: WEBHOOK_KEY, url: CALLBACK_URL, events });
          try {
            const r = await fetch(`${server.url}/webhooks/mandrill/${ACCOUNT}`, {
              method: "POST",
              headers: signed.headers,
              body: signed.body,
            });
            await r.arrayBuffer();
            if (r.status === 200) {
              counts.batches += 1;
              counts.events += events.length;
              eventsAcknowledged += events.length;
            } else {
              counts.errors += 1;
              failures.push(`webhook ${r.status}`);
            }
          } catch (error) {
            counts.errors += 1;
            failures.push(`webhook ${(error as Error).message}`);
          }
        }
      }

      async function sendLoop(): Promise<void> {
        while (!stop) {
          const n = seq++;
          try {
            const r = await fetch(`${server.url}/api/accounts/${ACCOUNT}/send`, {
              method: "POST",
              headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
              body: JSON.stringify({ to: [`soak-to${n}@example.org`], subject: `Soak ${n}`, text: "x" }),
            });
            const body = (await r.json()) as { recipients?: { status: string }[] };
            if (r.status === 200 && body.recipients?.[0]?.status === "sent") counts.sends += 1;
            else {
              counts.errors += 1;
              failures.push(`send ${r.status} ${JSON.stringify(body).slice(0, 200)}`);
            }
          } catch (error) {
            counts.errors += 1;
            failures.push(`send ${(error as Error).message}`);
          }
        }
      }

      const run = (seconds: number) => {
        stop = false;
        const loops = [...Array.from({ length: 4 }, webhookLoop), ...Array.from({ length: 2 }, sendLoop)];
        return new Promise<void>((resolve, reject) => {
          setTimeout(() => {
            stop = true;
            Promise.all(loops).then(() => resolve(), reject);
          }, seconds * 1000);
        });
      };

      // Warm up (JIT, pools, SQLite cache) before the baseline.
      await run(Math.min(5, Math.max(1, sizes.soakSeconds / 10)));
      expect(failures.slice(0, 5), "failures during the warm-up").toEqual([]);
      const start = await probeMemory(server);
      const loadStart = procMemory("self");

      // Samples without any forced GC: what the server holds while it serves.
      const pid = server.child.pid as number;
      const sampleMs = FULL ? 5_000 : 1_000;
      const begun = Date.now();
      const samples: { s: number; m: ProcMemory }[] = [];
      const sampler = setInterval(() => {
        const m = procMemory(pid);
        if (m !== undefined) samples.push({ s: Math.round((Date.now() - begun) / 1000), m });
      }, sampleMs);
      Object.assign(counts, { batches: 0, events: 0, sends: 0, errors: 0 });
      await run(sizes.soakSeconds);
      clearInterval(sampler);
      const last = procMemory(pid);
      if (last !== undefined) samples.push({ s: Math.round((Date.now() - begun) / 1000), m: last });
      await eventually(async () => (await inboxStats()).pending === 0, 60_000);
      const end = await probeMemory(server);
      const loadEnd = procMemory("self");
      const stats = await inboxStats();
      const fileMiB = async (name: string) =>
        mib((await stat(join(dataDir, name)).catch(() => ({ size: 0 }))).size);

      // Median of the first and of the last tenth of the samples (at least 3): robust to a sample taken
      // in the middle of a burst of garbage.
      const window = Math.max(3, Math.floor(samples.length / 10));
      const rssFirst = median(samples.slice(0, window).map((x) => x.m.rss));
      const rssLast = median(samples.slice(-window).map((x) => x.m.rss));
      const serverLog = server
        .err()
        .split("\n")
        .filter((l) => l.trim() !== "");

      figure("soak", {
        seconds: sizes.soakSeconds,
        webhookBatches: counts.batches,
        webhookEvents: counts.events,
        sends: counts.sends,
        errors: counts.errors,
        eventsStored: stats.total,
        eventsHandled: stats.done,
        deadLettered: stats.dead,
        serverWarnOrErrorLines: serverLog.length,
        rssStartMiB: Math.round(start.proc.rss),
        rssEndMiB: Math.round(end.proc.rss),
        rssGrowthMiB: Math.round(end.proc.rss - start.proc.rss),
        rssPeakMiB: Math.round(Math.max(...samples.map((x) => x.m.rss), end.proc.rss)),
        rssMedianFirstMiB: Math.round(rssFirst),
        rssMedianLastMiB: Math.round(rssLast),
        rssStart: roundMemory(start.proc),
        rssEnd: roundMemory(end.proc),
        heapUsedStartMiB: mib(start.heap.heapUsed),
        heapUsedEndMiB: mib(end.heap.heapUsed),
        externalStartMiB: mib(start.heap.external),
        externalEndMiB: mib(end.heap.external),
        forcedGc: end.heap.gc,
        // Not bounded, for comparison only: this process (load generator, undici, the simulator keeping
        // every message it accepted).
        loadProcessRssStartMiB: Math.round(loadStart?.rss ?? Number.NaN),
        loadProcessRssEndMiB: Math.round(loadEnd?.rss ?? Number.NaN),
        databaseMiB: await fileMiB("mandrill.db"),
        walMiB: await fileMiB("mandrill.db-wal"),
      });
      // The curve: [seconds since the baseline, VmRSS, RssAnon, RssFile, RssShmem] in MiB.
      figure(
        "soak-rss-curve",
        samples.map(({ s, m }) => [s, ...Object.values(roundMemory(m))]),
      );

      expect(failures.slice(0, 5)).toEqual([]);
      expect(counts.batches).toBeGreaterThan(0);
      expect(counts.sends).toBeGreaterThan(0);
      expect(stats.dead).toBe(0);
      expect(stats.pending).toBe(0);
      expect(stats.total).toBe(eventsAcknowledged);
      expect(serverLog.slice(0, 5), "the server logged warnings or errors").toEqual([]);
      expect(server.child.exitCode).toBeNull();
      expect(end.proc.rss - start.proc.rss).toBeLessThan(RSS_GROWTH_BOUND_MIB);
      expect(rssLast - start.proc.rss).toBeLessThan(RSS_GROWTH_BOUND_MIB);

      // A clean stop under the same process: SIGTERM drains and exits 0.
      server.child.kill("SIGTERM");
      expect(await server.exited, server.err()).toBe(0);
    },
    TIMEOUT_MS,
  );
});
