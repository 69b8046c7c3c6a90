/**
 * The reads of ingest's statement for the effects (ingest.ts insertStatement) are index probes per
 * address whatever the planner believes: here, as in the ingest benchmark, the suppressions table
 * holds 1,600 rows of the account and was never analyzed, and a 1,000-event batch has 40 effects:
 * the case in which a join with the addresses was planned as a scan of every suppression of the
 * account (and the soft bounces as a scan of every soft bounce of the account).
 */
import { openPostgresStore } from "@mandrill-kit/postgres";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { insertStatement } from "../src/ingest.js";
import { available, databaseUrl, dropSchema, freshSchema, sql } from "./database.js";

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Index Cond"?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describe.skipIf(!available)("PostgreSQL ingest plan", () => {
  const schema = freshSchema("plan");
  afterAll(() => dropSchema(schema));

  it("locks the suppressions and reads the soft bounces of the effects' addresses by index probes", async () => {
    const store = await openPostgresStore({ connectionString: databaseUrl, schema });
    await store.close();
    const S = `"${schema}"`;
    // Never analyzed, filled a batch at a time (as ingest fills it).
    const fill = (from: number, to: number) =>
      sql(
        `INSERT INTO ${S}.suppressions (account, email, reason, source, created_at, updated_at)
         SELECT 'acme', 'user' || i || '@example.com', 'hard-bounce', 'webhook', 1, 1 FROM generate_series($1::int, $2::int) AS i`,
        [from, to],
      );
    for (let i = 0; i < 40; i++) await fill(i * 40 + 1, i * 40 + 40);
    // A batch of 1,000 events, 40 of them with an effect on an address each.
    const n = 1000;
    const keys = Array.from({ length: n }, (_, i) => `k${i}`);
    const emails = Array.from({ length: n }, (_, i) => `user${i * 7}@example.com`);
    const effects = keys.filter((_, i) => i % 25 === 0);
    const values = [
      "acme",
      1,
      keys,
      keys.map((_, i) => (i % 25 === 0 ? "hard_bounce" : "send")),
      emails,
      keys.map(() => null),
      keys.map((_, i) => i),
      Buffer.from("{}".repeat(n)),
      keys.map(() => "pending"),
      keys.map((_, i) => 2 * i),
      keys.map((_, i) => 2 * i + 2),
      effects,
      effects.map((k) => emails[Number(k.slice(1))]),
      effects.slice(0, 15).map((k) => emails[Number(k.slice(1))]),
      effects.slice(0, 15).map(() => 0),
      effects.slice(0, 15).map(() => 10),
    ];
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      for (const mode of ["auto", "force_generic_plan"]) {
        await client.query(`SET plan_cache_mode = ${mode}`);
        const { rows } = await client.query({
          text: `EXPLAIN (FORMAT JSON) ${insertStatement(S, true, false)}`,
          values,
        });
        const all = nodes(rows[0]["QUERY PLAN"][0].Plan as PlanNode);
        const suppressions = all.filter((n) => n["Relation Name"] === "suppressions");
        expect(suppressions.length, mode).toBeGreaterThan(0);
        for (const n of suppressions) {
          expect(n["Node Type"], mode).toBe("Index Scan");
          expect(n["Index Cond"], mode).toMatch(/\(account = .*\) AND \(email = /);
        }
        const bounces = all.filter(
          (n) => n["Relation Name"] === "inbox" && n["Index Name"] === "inbox_soft_bounces",
        );
        expect(
          bounces.map((n) => n["Node Type"]),
          mode,
        ).toEqual(["Index Scan"]);
        expect(bounces[0]?.["Index Cond"], mode).toMatch(/email = b\.email/);
      }
    } finally {
      await client.end();
    }
  });
});
