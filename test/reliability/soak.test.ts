import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { eventFixtures, signWebhook } from "@mandrill-kit/webhooks/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCOUNT,
  ADMIN_TOKEN,
  eventually,
  type RunningApp,
  rssMiB,
  saveSettings,
  startApp,
  WEBHOOK_KEY,
} from "./helpers.js";
import { FULL, figure, SLICE, sizes } from "./sizes.js";

/** Full GC before a reading, so the figure is memory kept rather than garbage not yet collected. */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/** Linux's split of the resident set (anonymous, file-backed, shared), when /proc is there. */
function rssBreakdown(): string {
  try {
    return readFileSync("/proc/self/status", "utf8")
      .split("\n")
      .filter((l) => /^Rss(Anon|File|Shmem):/.test(l))
      .map((l) => l.replace(/\s+/g, " "))
      .join(", ");
  } catch {
    return "n/a";
  }
}

/**
 * A bound on memory, not on time: 150 MiB beyond the SQLite page cache the store is allowed to fill
 * (cacheSizeBytes, 64 MiB by default), which grows with the database during the run by design.
 */
const RSS_GROWTH_BOUND_MIB = 150 + 64;

let app: RunningApp;
let handled = 0;

beforeAll(async () => {
  app = await startApp();
  app.example.webhooks.onAny(() => {
    handled += 1;
  });
  await saveSettings(app.url);
});
afterAll(async () => {
  await app?.close();
});

describe(`soak (${SLICE}: ${sizes.soakSeconds} s)`, () => {
  it(`serves ${sizes.soakSeconds} s of mixed webhook and send load with no error and bounded memory growth`, async () => {
    const counts = { batches: 0, events: 0, sends: 0, errors: 0 };
    const failures: string[] = [];
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
        const signed = signWebhook({ key: WEBHOOK_KEY, url: app.callbackUrl, events });
        const r = await fetch(app.callbackUrl, {
          method: "POST",
          headers: signed.headers,
          body: signed.body,
        });
        await r.arrayBuffer();
        if (r.status === 200) {
          counts.batches += 1;
          counts.events += events.length;
        } else {
          counts.errors += 1;
          failures.push(`webhook ${r.status}`);
        }
      }
    }

    async function sendLoop(): Promise<void> {
      while (!stop) {
        const n = seq++;
        const r = await fetch(`${app.url}/api/accounts/${ACCOUNT}/send`, {
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
    collectGarbage();
    const start = rssMiB();
    const heapStart = process.memoryUsage().heapUsed;
    const samples: number[] = [start];
    const sampler = setInterval(() => samples.push(rssMiB()), FULL ? 30_000 : 2_000);
    Object.assign(counts, { batches: 0, events: 0, sends: 0, errors: 0 });
    await run(sizes.soakSeconds);
    clearInterval(sampler);
    await eventually(async () => (await app.example.store.inbox.stats(ACCOUNT)).pending === 0, 60_000);
    collectGarbage();
    const end = rssMiB();
    samples.push(end);
    const heap = process.memoryUsage();
    const stats = await app.example.store.inbox.stats(ACCOUNT);

    figure("soak", {
      seconds: sizes.soakSeconds,
      webhookBatches: counts.batches,
      webhookEvents: counts.events,
      sends: counts.sends,
      errors: counts.errors,
      handlerRuns: handled,
      deadLettered: stats.dead,
      rssStartMiB: Math.round(start),
      rssEndMiB: Math.round(end),
      rssPeakMiB: Math.round(Math.max(...samples)),
      rssGrowthMiB: Math.round(end - start),
      rssSamplesMiB: samples.map(Math.round),
      heapUsedStartMiB: Math.round(heapStart / 1048576),
      heapUsedEndMiB: Math.round(heap.heapUsed / 1048576),
      externalEndMiB: Math.round(heap.external / 1048576),
      rssBreakdownEnd: rssBreakdown(),
    });
    expect(failures.slice(0, 5)).toEqual([]);
    expect(counts.batches).toBeGreaterThan(0);
    expect(counts.sends).toBeGreaterThan(0);
    expect(stats.dead).toBe(0);
    expect(end - start).toBeLessThan(RSS_GROWTH_BOUND_MIB);
  });
});
