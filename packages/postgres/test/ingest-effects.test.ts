/**
 * The suppression effects of ingest (ingest.ts): the batch's insert also locks the suppressions its
 * new events' effects touch and reads the soft bounces stored before it; the batch's own soft bounces
 * are added in the process. Random batches (duplicates within and across batches, soft bounces with
 * and without event times, in and out of order, suppressions and lifts) must give the results and
 * suppressions the memory store (the reference implementation) gives.
 */
import {
  createMemoryStore,
  type InboxEventInput,
  type Store,
  type SuppressionEffect,
} from "@mandrill-kit/core";
import { openPostgresStore, type PostgresStore } from "@mandrill-kit/postgres";
import { afterAll, describe, expect, it } from "vitest";
import { available, databaseUrl, dropSchema, freshSchema, random } from "./database.js";

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const EMAILS = ["a@example.com", "b@example.com", "c@example.com"];

function randomEvent(rnd: () => number, n: number, now: number): InboxEventInput {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const email = pick(EMAILS);
  const key = `k${Math.floor(rnd() * n)}`;
  const eventAt = rnd() < 0.1 ? null : now - Math.floor(rnd() * 6 * DAY);
  const kind = rnd();
  let type = "send";
  let effects: SuppressionEffect[] = [];
  if (kind < 0.5) {
    type = "soft_bounce";
    effects = [
      {
        op: "soft-bounce",
        email,
        detail: `full ${key}`,
        threshold: 2 + Math.floor(rnd() * 2),
        windowMs: (1 + Math.floor(rnd() * 4)) * DAY,
        suppressForMs: 3 * DAY,
      },
    ];
  } else if (kind < 0.6) {
    type = "hard_bounce";
    effects = [
      { op: "suppress", email, reason: "hard-bounce", source: "webhook", detail: key, expiresAt: null },
    ];
  } else if (kind < 0.7) {
    type = "blacklist";
    effects = [{ op: "lift", email, by: "test", reason: key }];
  }
  return { key, type, email, messageId: null, eventAt, raw: `{"k":"${key}"}`, effects };
}

describe.skipIf(!available)("PostgreSQL ingest effects", () => {
  const schemas: string[] = [];
  const stores: PostgresStore[] = [];
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    for (const schema of schemas) await dropSchema(schema);
  });

  it("match the memory store through random batches of soft bounces, suppressions and lifts", async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const schema = freshSchema("effects");
      schemas.push(schema);
      const pg = await openPostgresStore({ connectionString: databaseUrl, schema, maxConnections: 2 });
      stores.push(pg);
      const memory: Store = createMemoryStore();
      const rnd = random(seed);
      let now = T0 + 10 * DAY;
      for (let step = 0; step < 12; step++) {
        now += Math.floor(rnd() * DAY);
        const size = 1 + Math.floor(rnd() * 8);
        const events = Array.from({ length: size }, () => randomEvent(rnd, 40, now));
        const batch = { account: "acme", receivedAt: now, events };
        const where = `seed ${seed}, step ${step}`;
        expect(await pg.inbox.ingest(batch), where).toEqual(await memory.inbox.ingest(batch));
        for (const email of EMAILS) {
          expect(await pg.suppressions.get("acme", email), `${where}, ${email}`).toEqual(
            await memory.suppressions.get("acme", email),
          );
        }
      }
    }
  });
});
