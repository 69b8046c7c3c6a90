/**
 * The crash scenario on PostgreSQL: the example server (DATABASE_URL) SIGKILLed under webhook load at
 * random moments. Every acknowledged event is stored exactly once with its suppression, and stays
 * queued for its handlers: after the last kill, a dispatcher run later than any lease the dead
 * processes held runs the handler of every acknowledged event still pending, and nothing is left.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { manualClock } from "@mandrill-kit/core/testing";
import { openPostgresStore } from "@mandrill-kit/postgres";
import { createDispatcher } from "@mandrill-kit/webhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  available,
  databaseUrl,
  dropSchema,
  freshSchema,
  sql,
} from "../../packages/postgres/test/database.js";
import { type Ack, killWhileLoaded, startWebhookLoad } from "./fixtures/webhook-load.js";
import {
  ACCOUNT,
  bundleServer,
  eventually,
  killChildren,
  prepareServer,
  saveSettings,
  WEBHOOK_KEY,
} from "./helpers.js";
import { figure, SLICE, sizes } from "./sizes.js";

const PUBLIC_URL = "https://hooks.example.test";
const CALLBACK_URL = `${PUBLIC_URL}/webhooks/mandrill/${ACCOUNT}`;
const schema = freshSchema("crash");

let dataDir: string;
let bundle: string;

describe.skipIf(!available)(
  `crash under webhook load on PostgreSQL (${SLICE}: ${sizes.crashKills} SIGKILLs)`,
  () => {
    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "mk-reliability-pg-crash-"));
      bundle = await bundleServer(dataDir);
    });
    afterAll(async () => {
      killChildren();
      await rm(dataDir, { recursive: true, force: true });
      await dropSchema(schema);
    });

    it("keeps every acknowledged event exactly once, queued until its handlers ran", async () => {
      const acked: Ack[] = [];
      const env = { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema };
      for (let round = 0; round < sizes.crashKills; round++) {
        const prepared = prepareServer(bundle, { dataDir, publicUrl: PUBLIC_URL, env });
        await prepared.loaded;
        const server = await prepared.start();
        if (round === 0) await saveSettings(server.url);
        const load = startWebhookLoad({
          url: `${server.url}/webhooks/mandrill/${ACCOUNT}`,
          callbackUrl: CALLBACK_URL,
          key: WEBHOOK_KEY,
          prefix: `pg${round}`,
          batchSize: 50,
          concurrency: 4,
        });
        // Kill at a random moment once the load is flowing (the first acknowledgement is in).
        await killWhileLoaded(load, server.child, server.exited, eventually);
        await load.stopped;
        expect(load.acks.length, `round ${round}: no batch acknowledged`).toBeGreaterThan(0);
        acked.push(...load.acks);

        const { rows } = await sql(
          `SELECT key, count(*)::int AS n FROM "${schema}".inbox WHERE account = $1 GROUP BY key`,
          [ACCOUNT],
        );
        const counts = new Map(rows.map((r) => [r.key as string, r.n as number]));
        const missing = acked.flatMap((a) => a.keys).filter((k) => counts.get(k) !== 1);
        expect(missing, `round ${round}: acknowledged events missing or duplicated`).toEqual([]);
      }

      const store = await openPostgresStore({ connectionString: databaseUrl, schema, maxConnections: 2 });
      try {
        const bounced = acked.map((a) => a.bounced);
        expect(await store.suppressions.check(ACCOUNT, bounced)).toHaveLength(acked.length);

        const pendingAfterKills = (await store.inbox.backlog?.())?.pending;
        // Later than any lease a killed process held: every event still pending is due.
        const ran: string[] = [];
        const dispatcher = createDispatcher({ store, clock: manualClock(Date.now() + 24 * 3_600_000) });
        dispatcher.on(["hard_bounce", "spam", "unsub", "reject"], (_event, context) => {
          ran.push(context.eventKey);
        });
        while ((await dispatcher.runDue()) > 0);
        await dispatcher.close();

        expect(await store.inbox.backlog?.()).toMatchObject({ pending: 0, dead: 0 });
        const bounceKeys = acked.map((a) => a.keys[0] as string);
        for (const key of acked.flatMap((a) => a.keys)) {
          const record = await store.inbox.get(ACCOUNT, key);
          expect(record?.state, key).toBe("done");
        }
        // Each hard bounce's handler ran: here now, or in a server before its kill (a claim counts an attempt).
        for (const key of bounceKeys) {
          const record = await store.inbox.get(ACCOUNT, key);
          expect(record?.attempts ?? 0, key).toBeGreaterThanOrEqual(1);
        }
        expect(new Set(ran).size).toBe(ran.length);
        figure("postgresCrash", {
          kills: sizes.crashKills,
          batchesAcknowledged: acked.length,
          eventsAcknowledged: acked.reduce((n, a) => n + a.keys.length, 0),
          pendingAfterKills,
          handlersRunAfterKills: ran.length,
        });
      } finally {
        await store.close();
      }
    });
  },
);
