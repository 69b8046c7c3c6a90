import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ack, killWhileLoaded, startWebhookLoad } from "./fixtures/webhook-load.js";
import {
  ACCOUNT,
  ADMIN_TOKEN,
  bundleServer,
  eventually,
  killChildren,
  type PreparedServer,
  prepareServer,
  type ServerProcess,
  saveSettings,
  WEBHOOK_KEY,
} from "./helpers.js";
import { figure, SLICE, sizes } from "./sizes.js";

// A fixed public URL: the Callback URL (and so the signatures) stay the same across restarts on new ports.
const PUBLIC_URL = "https://hooks.example.test";
const CALLBACK_URL = `${PUBLIC_URL}/webhooks/mandrill/${ACCOUNT}`;

let dataDir: string;
let bundle: string;
/** Server processes prepared for the next starts, next first (see {@link nextServer}). */
const prepared: Promise<PreparedServer>[] = [];
/** Starts still to prepare: one per kill, and the last restart. */
let toPrepare = sizes.crashKills + 1;
/** How many processes are prepared ahead. */
const AHEAD = 3;
/** Resolves once the last process prepared has loaded its modules. */
let loading: Promise<unknown> = Promise.resolve();

/**
 * Prepares processes up to {@link AHEAD}, one after the other: each starts loading its modules once the
 * one before it has (several loading at once would only share the CPU, and delay the next start).
 */
function prepareAhead(): void {
  while (prepared.length < AHEAD && toPrepare > 0) {
    toPrepare -= 1;
    const next = loading.then(() => prepareServer(bundle, { dataDir, publicUrl: PUBLIC_URL }));
    prepared.push(next);
    loading = next.then((p) => p.loaded);
    // A process that failed fails the start that awaits it; the chain itself is never awaited.
    loading.catch(() => {});
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "mk-reliability-crash-"));
  bundle = await bundleServer(dataDir);
  prepareAhead();
  // The first start's module loading is setup, like the bundle.
  await (await prepared[0])?.loaded;
});
afterAll(async () => {
  killChildren();
  await rm(dataDir, { recursive: true, force: true });
});

/**
 * Starts examples/server/src/main.ts on a free port in a process prepared while earlier rounds ran, so
 * a restart is the server's own start, not Node loading its modules; then prepares another.
 */
async function nextServer(): Promise<ServerProcess> {
  const server = await (prepared.shift() as Promise<PreparedServer>);
  prepareAhead();
  return server.start();
}

describe(`crash under webhook load (${SLICE}: ${sizes.crashKills} SIGKILLs)`, () => {
  it(`keeps every acknowledged event exactly once, with its suppression, across ${sizes.crashKills} SIGKILLs at random moments`, async () => {
    const acked: Ack[] = [];
    let unacknowledgedFailures = 0;
    const started = Date.now();
    for (let round = 0; round < sizes.crashKills; round++) {
      const server = await nextServer();
      const url = `http://127.0.0.1:${server.port}`;
      if (round === 0) await saveSettings(url);

      const load = startWebhookLoad({
        url: `${url}/webhooks/mandrill/${ACCOUNT}`,
        callbackUrl: CALLBACK_URL,
        key: WEBHOOK_KEY,
        prefix: `r${round}`,
        batchSize: 50,
        concurrency: 4,
      });
      // Kill at a random moment once the load is flowing (the first acknowledgement is in).
      await killWhileLoaded(load, server.child, server.exited, eventually);
      const summary = await load.stopped;
      unacknowledgedFailures += summary.failures;
      expect(load.acks.length, `round ${round}: no batch acknowledged`).toBeGreaterThan(0);
      acked.push(...load.acks);

      // The server is dead: open its file like the restart will, and check everything acknowledged so far.
      const store = openSqliteStore({ filename: join(dataDir, "mandrill.db") });
      try {
        expect(store.integrityCheck()).toBe("ok");
        const counts = new Map(
          (
            store.database
              .prepare("SELECT key, count(*) AS n FROM inbox WHERE account = ? GROUP BY key")
              .all(ACCOUNT) as { key: string; n: number }[]
          ).map((r) => [r.key, r.n]),
        );
        const missing = acked.flatMap((a) => a.keys).filter((k) => counts.get(k) !== 1);
        expect(missing, `round ${round}: acknowledged events missing or duplicated`).toEqual([]);
        const suppressed = await store.suppressions.check(
          ACCOUNT,
          acked.map((a) => a.bounced),
        );
        expect(suppressed).toHaveLength(acked.length);
      } finally {
        await store.close();
      }
    }

    // A last restart: the server comes up on the file and reports the same events through its API.
    const server = await nextServer();
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/api/accounts/${ACCOUNT}/events?limit=1`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(response.status).toBe(200);
      const { stats } = (await response.json()) as { stats: { total: number } };
      const events = acked.reduce((n, a) => n + a.keys.length, 0);
      expect(stats.total).toBeGreaterThanOrEqual(events);
      figure("crash", {
        kills: sizes.crashKills,
        batchesAcknowledged: acked.length,
        eventsAcknowledged: events,
        eventsStored: stats.total,
        suppressionsChecked: acked.length,
        non200Answers: unacknowledgedFailures,
        seconds: (Date.now() - started) / 1000,
      });
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  });
});
