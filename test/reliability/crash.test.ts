import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCOUNT,
  ADMIN_TOKEN,
  killChildren,
  saveSettings,
  spawnServer,
  track,
  WEBHOOK_KEY,
} from "./helpers.js";
import { figure, SLICE, sizes } from "./sizes.js";

const loadScript = fileURLToPath(new URL("./fixtures/webhook-load.ts", import.meta.url));
// A fixed public URL: the Callback URL (and so the signatures) stay the same across restarts on new ports.
const PUBLIC_URL = "https://hooks.example.test";
const CALLBACK_URL = `${PUBLIC_URL}/webhooks/mandrill/${ACCOUNT}`;

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "mk-reliability-crash-"));
});
afterAll(async () => {
  killChildren();
  await rm(dataDir, { recursive: true, force: true });
});

/** Starts examples/server/src/main.ts on a free port and resolves once it prints its start banner. */
function startServer() {
  return spawnServer({ dataDir, publicUrl: PUBLIC_URL });
}

interface Ack {
  batch: string;
  keys: string[];
  bounced: string;
}

describe(`crash under webhook load (${SLICE}: ${sizes.crashKills} SIGKILLs)`, () => {
  it(`keeps every acknowledged event exactly once, with its suppression, across ${sizes.crashKills} SIGKILLs at random moments`, async () => {
    const acked: Ack[] = [];
    let unacknowledgedFailures = 0;
    const started = Date.now();
    for (let round = 0; round < sizes.crashKills; round++) {
      const server = await startServer();
      const url = `http://127.0.0.1:${server.port}`;
      if (round === 0) await saveSettings(url);

      const load = spawn(process.execPath, ["--import", "tsx", loadScript], {
        env: {
          ...process.env,
          LOAD_URL: `${url}/webhooks/mandrill/${ACCOUNT}`,
          LOAD_CALLBACK_URL: CALLBACK_URL,
          LOAD_KEY: WEBHOOK_KEY,
          LOAD_PREFIX: `r${round}`,
          LOAD_BATCH: "50",
          LOAD_CONCURRENCY: "4",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const l = track(load);
      // Kill at a random moment once the load is flowing (the first acknowledgement is in).
      const until = Date.now() + 30_000;
      while (!l.out().includes("\n") && Date.now() < until && load.exitCode === null) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 700)));
      server.child.kill("SIGKILL");
      await server.exited;
      expect(await l.exited, l.err()).toBe(0);

      const lines = l
        .out()
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Ack | { stopped: string[]; failures: number });
      const roundAcks = lines.filter((x): x is Ack => "keys" in x);
      const summary = lines.find((x) => "stopped" in x) as { failures: number } | undefined;
      unacknowledgedFailures += summary?.failures ?? 0;
      expect(roundAcks.length, `round ${round}: no batch acknowledged`).toBeGreaterThan(0);
      acked.push(...roundAcks);

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
    const server = await startServer();
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
