/**
 * The suppression writes of ingest go with the COMMIT as SQL text with the values inline
 * (suppressions.ts writeSql, queries.ts txWithLast): every value must come back exactly, whatever its
 * characters; a first write of an address that a concurrent transaction made first fails on the
 * primary key and the transaction runs again; and a failing write rolls the whole transaction back.
 */
import type { InboxEventInput, Suppression } from "@mandrill-kit/core";
import { openPostgresStore } from "@mandrill-kit/postgres";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { q, txWithLast } from "../src/queries.js";
import {
  type LoadedSuppressions,
  loadedFrom,
  loadedKey,
  stage,
  suppressionLocks,
} from "../src/suppressions.js";
import { available, databaseUrl, freshSchemas, recordingPool, sql } from "./database.js";

const T0 = Date.UTC(2026, 0, 1);
const AWKWARD = [
  "O'Brien",
  "back\\slash and \\' both",
  "''",
  "$$ dollar $tag$",
  "caf\u00e9 \u65e5\u672c \ud83d\udce8",
  "line\nbreak\ttab",
  "E'not an escape'",
  "-- not a comment; DROP TABLE x",
];

const suppression = (email: string, detail: string | null, at: number): Suppression => ({
  account: "acme",
  email,
  reason: "hard-bounce",
  source: "webhook",
  detail,
  createdAt: at,
  updatedAt: at,
  expiresAt: at + 1000,
  liftedAt: null,
  liftedBy: detail,
  liftReason: null,
});

describe.skipIf(!available)("PostgreSQL ingest writes with the COMMIT", () => {
  const fresh = freshSchemas();

  it("inserts and updates suppressions with every value exactly as given", async () => {
    const schema = fresh("writesql");
    const store = await openPostgresStore({ connectionString: databaseUrl, schema });
    const S = `"${schema}"`;
    const locks = suppressionLocks(S);
    try {
      const write = (rows: Suppression[], existing: Suppression[], pool = store.pool) =>
        txWithLast(pool, async () => {
          const loaded: LoadedSuppressions = loadedFrom(rows, []);
          for (const e of existing)
            (loaded.get(loadedKey(e.account, e.email)) as { existed: boolean }).existed = true;
          for (const r of rows) stage(loaded, r);
          return { result: undefined, last: locks.writeSql(loaded) };
        });
      const first = AWKWARD.map((d, i) => suppression(`u${i}@example.com`, d, T0 + i));
      await write([...first, suppression("null@example.com", null, T0)], []);
      for (const s of first) expect(await store.suppressions.get("acme", s.email)).toEqual(s);
      expect(await store.suppressions.get("acme", "null@example.com")).toMatchObject({
        detail: null,
        liftedBy: null,
      });

      const second = AWKWARD.map((d, i) => suppression(`u${i}@example.com`, `${d}!`, T0 + 100 + i));
      await write(second, second);
      for (const s of second) expect(await store.suppressions.get("acme", s.email)).toEqual(s);
      expect(await store.suppressions.count("acme", { now: T0 })).toBe(AWKWARD.length + 1);
      expect(locks.writeSql(loadedFrom(second, []))).toBe(""); // nothing staged, nothing written

      // The same literals read the same with standard_conforming_strings off (backslashes in E'').
      const legacy = new pg.Pool({
        connectionString: databaseUrl,
        max: 1,
        options: "-c standard_conforming_strings=off",
      });
      try {
        const third = AWKWARD.map((d, i) => suppression(`u${i}@example.com`, `${d}?`, T0 + 200 + i));
        await write(third, third, legacy);
        for (const s of third) expect(await store.suppressions.get("acme", s.email)).toEqual(s);
      } finally {
        await legacy.end();
      }
    } finally {
      await store.close();
    }
  });

  it("rolls the transaction back when a write fails, and commits nothing of it", async () => {
    const schema = fresh("writefail");
    const store = await openPostgresStore({ connectionString: databaseUrl, schema });
    const S = `"${schema}"`;
    try {
      await store.suppressions.add({
        account: "acme",
        email: "x@example.com",
        reason: "unsub",
        source: "manual",
      });
      // A first write of an address that exists: the plain INSERT fails (23505, run again up to the
      // limit) and the event inserted earlier in the transaction is not committed.
      const attempt = txWithLast(store.pool, async (client) => {
        await q(
          client,
          `INSERT INTO ${S}.inbox (account, key, type, raw, received_at, state, attempts) VALUES ('acme', 'k', 'send', '{}', 1, 'done', 0)`,
        );
        const loaded = loadedFrom([{ account: "acme", email: "x@example.com" }], []);
        stage(loaded, suppression("x@example.com", null, T0));
        return { result: undefined, last: suppressionLocks(S).writeSql(loaded) };
      });
      await expect(attempt).rejects.toMatchObject({ code: "23505" });
      const { rows } = await sql(`SELECT count(*)::int AS n FROM ${S}.inbox`);
      expect(rows[0]).toEqual({ n: 0 });
      expect(await store.suppressions.get("acme", "x@example.com")).toMatchObject({ reason: "unsub" });
    } finally {
      await store.close();
    }
  });

  it("sends a batch's suppression writes with its COMMIT, and lands concurrent first writes of one address", async () => {
    const schema = fresh("writerace");
    const { pool, statements } = recordingPool(4, (text) => {
      if (text.includes(".inbox (")) return "INSERT events";
      if (text.includes("suppressions (") && text.endsWith("; COMMIT")) return "writes; COMMIT";
      return undefined;
    });
    const a = await openPostgresStore({ pool, schema });
    const b = await openPostgresStore({ connectionString: databaseUrl, schema, maxConnections: 4 });
    try {
      const bounce = (key: string, email: string): InboxEventInput => ({
        key,
        type: "hard_bounce",
        email,
        messageId: null,
        eventAt: T0,
        raw: "{}",
        effects: [
          { op: "suppress", email, reason: "hard-bounce", source: "webhook", detail: key, expiresAt: null },
        ],
      });
      statements.length = 0; // the migrations
      await a.inbox.ingest({
        account: "acme",
        receivedAt: T0,
        events: [bounce("first", "first@example.com")],
      });
      // Planned generically (see ingest.ts), only within the transaction.
      expect(statements).toEqual([
        "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan",
        "INSERT events",
        "writes; COMMIT",
      ]);
      const settings = await Promise.all([
        pool.query("SHOW plan_cache_mode"),
        pool.query("SHOW plan_cache_mode"),
      ]);
      expect(settings.map((r) => r.rows[0].plan_cache_mode)).toEqual(["auto", "auto"]);

      // Different events, the same new address, from two instances at once: one inserts the
      // suppression, the others fail on its primary key, run again and find it.
      for (let round = 0; round < 5; round++) {
        const email = `r${round}@example.com`;
        const results = await Promise.all(
          [a, b, a, b].map((s, i) =>
            s.inbox.ingest({
              account: "acme",
              receivedAt: T0 + i,
              events: [bounce(`r${round}-${i}`, email)],
            }),
          ),
        );
        expect(results.map((r) => r.inserted.length)).toEqual([1, 1, 1, 1]);
        expect(results.flatMap((r) => r.effects)).toHaveLength(1); // the first write; the rest change nothing
        expect(await a.suppressions.get("acme", email)).toMatchObject({ reason: "hard-bounce" });
      }
      expect(await b.suppressions.count("acme", { now: T0 })).toBe(6);
    } finally {
      await a.close();
      await b.close();
      await pool.end();
    }
  });
});
