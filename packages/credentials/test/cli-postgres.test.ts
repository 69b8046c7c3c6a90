import { generateKey, type OctJwk, type RotationReport } from "@mandrill-kit/credentials";
import { openPostgresStore } from "@mandrill-kit/postgres";
import { afterAll, describe, expect, it } from "vitest";
// The PostgreSQL these tests share with the store's own tests: skipped with a note when unreachable.
import { available, databaseUrl, dropSchema, freshSchema, sql } from "../../postgres/test/database.js";
import { cli, secretKids, seedTwoAccounts, withStore } from "./cli-helpers.js";

const schemas: string[] = [];
afterAll(async () => {
  if (available) for (const schema of schemas) await dropSchema(schema);
});

/** A fresh schema holding two accounts whose secrets are under `key`. */
async function schemaUnder(key: OctJwk): Promise<string> {
  const schema = freshSchema("cli");
  schemas.push(schema);
  await withStore(openPostgresStore({ connectionString: databaseUrl, schema }), (store) =>
    seedTwoAccounts(store, key),
  );
  return schema;
}

const kidsIn = (schema: string) =>
  withStore(openPostgresStore({ connectionString: databaseUrl, schema, migrate: false }), secretKids);

describe.skipIf(!available)("mandrill-kit keys rotate on PostgreSQL", () => {
  it("re-encrypts every secret of the schema given with --database-url and --schema", async () => {
    const keyA = generateKey("key-A");
    const keyB = generateKey("key-B");
    const schema = await schemaUnder(keyA);
    const { code, out, err } = await cli(
      ["keys", "rotate", "--database-url", databaseUrl, "--schema", schema],
      { MANDRILL_KIT_KEYS: JSON.stringify({ keys: [keyB, keyA] }) },
    );
    expect(err).toContain("rotated 2 account(s)");
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      accounts: 2,
      reencrypted: 4,
      alreadyCurrent: 0,
      failed: [],
      activeKid: "key-B",
    } satisfies RotationReport);
    expect(await kidsIn(schema)).toEqual(["key-B", "key-B", "key-B", "key-B"]);
    for (const k of [keyA.k, keyB.k]) expect(out + err).not.toContain(k);
  });

  it("reads the URL from MANDRILL_KIT_DATABASE_URL, so no password shows in the process list", async () => {
    const keyA = generateKey("key-A");
    const keyB = generateKey("key-B");
    const schema = await schemaUnder(keyA);
    const { code, out } = await cli(["keys", "rotate", "--schema", schema, "--active-kid", "key-B"], {
      MANDRILL_KIT_DATABASE_URL: databaseUrl,
      MANDRILL_KIT_KEYS: JSON.stringify({ keys: [keyA, keyB] }),
    });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ reencrypted: 4, activeKid: "key-B" });
    expect(await kidsIn(schema)).toEqual(["key-B", "key-B", "key-B", "key-B"]);
  });

  it("refuses a schema that does not exist without creating it, and never prints the URL's password", async () => {
    const schema = freshSchema("cli_missing");
    schemas.push(schema);
    const url = new URL(databaseUrl);
    url.username = url.username || "postgres";
    url.password = "s3cret-Pa55word";
    const { code, out, err } = await cli(["keys", "rotate", "--database-url", url.href, "--schema", schema], {
      MANDRILL_KIT_KEYS: JSON.stringify({ keys: [generateKey("a")] }),
    });
    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toContain(schema);
    expect(out + err).not.toContain("s3cret-Pa55word");
    const found = await sql("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [schema]);
    expect(found.rows).toEqual([]);
  });
});
