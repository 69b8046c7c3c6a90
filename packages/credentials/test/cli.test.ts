import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  generateKey,
  type JwkSet,
  type OctJwk,
  parseKeySet,
  type RotationReport,
} from "@mandrill-kit/credentials";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { cli, secretKids, seedTwoAccounts, withStore } from "./cli-helpers.js";

const bin = fileURLToPath(new URL("../bin/mandrill-kit.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "mk-credentials-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function tempPath(name: string): string {
  fileCount++;
  return join(dir, `${fileCount}-${name}`);
}

function keySetFile(...keys: OctJwk[]): string {
  const file = tempPath("keys.json");
  writeFileSync(file, JSON.stringify({ keys }), { mode: 0o600 });
  return file;
}

/** A SQLite file with two accounts whose secrets are under `key`. */
async function databaseUnder(key: OctJwk): Promise<string> {
  const filename = tempPath("kit.db");
  await withStore(openSqliteStore({ filename }), (store) => seedTwoAccounts(store, key));
  return filename;
}

const kidsIn = (filename: string) => withStore(openSqliteStore({ filename }), secretKids);

describe("mandrill-kit keys generate", () => {
  it("prints a JWK Set with one new 256-bit key that the kit accepts", async () => {
    const { code, out, err } = await cli(["keys", "generate"]);
    expect(code).toBe(0);
    expect(err).toBe("");
    const set = parseKeySet(out);
    expect(set.keys).toHaveLength(1);
    expect(Buffer.from(set.keys[0]?.k as string, "base64url")).toHaveLength(32);
  });

  it("prints a different key on every run", async () => {
    const first = parseKeySet((await cli(["keys", "generate"])).out).keys[0];
    const second = parseKeySet((await cli(["keys", "generate"])).out).keys[0];
    expect(first?.k).not.toBe(second?.k);
  });

  it("uses the kid given with --kid", async () => {
    const { code, out } = await cli(["keys", "generate", "--kid", "2026-11"]);
    expect(code).toBe(0);
    expect(parseKeySet(out).keys.map((k) => k.kid)).toEqual(["2026-11"]);
  });

  it("refuses an invalid --kid with ERR_MK_CONFIG_KEYS and prints no key", async () => {
    const { code, out, err } = await cli(["keys", "generate", "--kid", "has space"]);
    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toContain("ERR_MK_CONFIG_KEYS");
  });

  it("with --add-to FILE puts the new key first and keeps the keys of FILE after it, unchanged", async () => {
    const old1 = generateKey("old-1");
    const old2 = generateKey("old-2");
    const file = keySetFile(old1, old2);
    const before = readFileSync(file, "utf8");
    const { code, out } = await cli(["keys", "generate", "--add-to", file, "--kid", "new-1"]);
    expect(code).toBe(0);
    const set = parseKeySet(out);
    expect(set.keys.map((k) => k.kid)).toEqual(["new-1", "old-1", "old-2"]);
    expect(set.keys[1]).toEqual(old1);
    expect(set.keys[2]).toEqual(old2);
    expect(readFileSync(file, "utf8")).toBe(before); // --add-to only reads
  });

  it("with --add-to a broken key set fails with ERR_MK_CONFIG_KEYS without echoing its keys", async () => {
    const broken = generateKey("broken");
    const file = keySetFile({ ...broken, use: "sig" } as unknown as OctJwk);
    const { code, out, err } = await cli(["keys", "generate", "--add-to", file]);
    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toContain("ERR_MK_CONFIG_KEYS");
    expect(err).not.toContain(broken.k);
  });

  it("with --add-to a missing file fails and names the file", async () => {
    const missing = tempPath("missing.json");
    const { code, out, err } = await cli(["keys", "generate", "--add-to", missing]);
    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toContain(missing);
  });

  it("with --out FILE writes the set to FILE with mode 0600 and prints no key material", async () => {
    const old = generateKey("old-1");
    const file = tempPath("out.json");
    const { code, out, err } = await cli(["keys", "generate", "--out", file, "--add-to", keySetFile(old)]);
    expect(code).toBe(0);
    expect(out).toBe("");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const set: JwkSet = parseKeySet(readFileSync(file, "utf8"));
    expect(set.keys.map((k) => k.kid)).toEqual([expect.any(String), "old-1"]);
    for (const key of set.keys) expect(err).not.toContain(key.k);
    expect(err).toContain(file);
  });

  it("with --out naming an existing file leaves it readable by its owner only (0600)", async () => {
    // BUG: writeFileSync's `mode` applies only when it creates the file, so an existing 0644 file
    // (for example the --add-to file itself) keeps 0644 and the new key becomes world-readable.
    const file = keySetFile(generateKey("old-1"));
    chmodSync(file, 0o644);
    const { code } = await cli(["keys", "generate", "--add-to", file, "--out", file]);
    expect(code).toBe(0);
    expect(parseKeySet(readFileSync(file, "utf8")).keys).toHaveLength(2);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("refuses an unknown option", async () => {
    const { code, out, err } = await cli(["keys", "generate", "--bogus"]);
    expect(code).not.toBe(0);
    expect(out).toBe("");
    expect(err).toContain("--bogus");
  });
});

describe("mandrill-kit keys rotate", () => {
  it("exits 2 with a message when --database is missing", async () => {
    const { code, out, err } = await cli(["keys", "rotate", "--keys-file", keySetFile(generateKey("a"))]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toContain("--database");
  });

  it("exits 2 when given two stores, or a --schema for a SQLite file, and opens neither", async () => {
    const keys = { MANDRILL_KIT_KEYS: JSON.stringify({ keys: [generateKey("a")] }) };
    const database = tempPath("two.db");
    const both = await cli(
      ["keys", "rotate", "--database", database, "--database-url", "postgres://127.0.0.1:1/none"],
      keys,
    );
    expect(both.code).toBe(2);
    expect(both.err).toContain("not both");
    const schema = await cli(["keys", "rotate", "--database", database, "--schema", "s"], keys);
    expect(schema.code).toBe(2);
    expect(schema.err).toContain("--schema");
    expect(existsSync(database)).toBe(false);
  });

  it("exits 2 with a message when no keys are given (no --keys-file, MANDRILL_KIT_KEYS unset or blank)", async () => {
    const database = tempPath("none.db");
    for (const env of [{}, { MANDRILL_KIT_KEYS: "  " }]) {
      const { code, out, err } = await cli(["keys", "rotate", "--database", database], env);
      expect(code).toBe(2);
      expect(out).toBe("");
      expect(err).toContain("MANDRILL_KIT_KEYS");
      expect(err).toContain("--keys-file");
    }
    const named = await cli(["keys", "rotate", "--database", database, "--keys-env", "MY_KEYS"], {
      MANDRILL_KIT_KEYS: JSON.stringify({ keys: [generateKey("a")] }),
    });
    expect(named.code).toBe(2);
    expect(named.err).toContain("MY_KEYS");
  });

  it("re-encrypts every secret under the first key of --keys-file and prints the report", async () => {
    const keyA = generateKey("key-A");
    const keyB = generateKey("key-B");
    const database = await databaseUnder(keyA);
    const { code, out, err } = await cli([
      "keys",
      "rotate",
      "--database",
      database,
      "--keys-file",
      keySetFile(keyB, keyA),
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      accounts: 2,
      reencrypted: 4,
      alreadyCurrent: 0,
      failed: [],
      activeKid: "key-B",
    } satisfies RotationReport);
    expect(err).toContain("rotated 2 account(s)");
    expect(await kidsIn(database)).toEqual(["key-B", "key-B", "key-B", "key-B"]);
    for (const k of [keyA.k, keyB.k]) expect(out + err).not.toContain(k);
  });

  it("reads the keys from MANDRILL_KIT_KEYS, or the variable named by --keys-env, and honours --active-kid", async () => {
    const keyA = generateKey("key-A");
    const keyB = generateKey("key-B");
    const database = await databaseUnder(keyA);
    const keys = JSON.stringify({ keys: [keyA, keyB] });
    const byDefault = await cli(["keys", "rotate", "--database", database], { MANDRILL_KIT_KEYS: keys });
    expect(byDefault.code).toBe(0);
    expect(JSON.parse(byDefault.out)).toMatchObject({
      reencrypted: 0,
      alreadyCurrent: 4,
      activeKid: "key-A",
    });

    const named = await cli(
      ["keys", "rotate", "--database", database, "--keys-env", "OTHER_KEYS", "--active-kid", "key-B"],
      { OTHER_KEYS: keys },
    );
    expect(named.code).toBe(0);
    expect(JSON.parse(named.out)).toMatchObject({ reencrypted: 4, activeKid: "key-B" });
    expect(await kidsIn(database)).toEqual(["key-B", "key-B", "key-B", "key-B"]);
  });

  it("exits 1 when an account could not be rotated, listing it in the report", async () => {
    const keyA = generateKey("key-A");
    const keyB = generateKey("key-B");
    const database = await databaseUnder(keyA);
    const { code, out } = await cli([
      "keys",
      "rotate",
      "--database",
      database,
      "--keys-file",
      keySetFile(keyB),
    ]);
    expect(code).toBe(1);
    const report = JSON.parse(out) as RotationReport;
    expect(report.failed.map((f) => [f.account, f.code])).toEqual([
      ["acme", "ERR_MK_CRYPTO_UNKNOWN_KEY"],
      ["beta", "ERR_MK_CRYPTO_UNKNOWN_KEY"],
    ]);
    expect(await kidsIn(database)).toEqual(["key-A", "key-A", "key-A", "key-A"]);
  });

  it("exits 1 with ERR_MK_CONFIG_KEYS and no key material when the key set is bad", async () => {
    const key = generateKey("short");
    const bad = { ...key, k: key.k.slice(0, 22) };
    const database = tempPath("bad-keys.db");
    const { code, out, err } = await cli(["keys", "rotate", "--database", database], {
      MANDRILL_KIT_KEYS: JSON.stringify({ keys: [bad] }),
    });
    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toContain("ERR_MK_CONFIG_KEYS");
    expect(err).not.toContain(bad.k);
  });

  it("refuses a --database that does not exist instead of creating an empty one and reporting success", async () => {
    // BUG: a mistyped path makes openSqliteStore create a new empty database (and its folders);
    // rotate then reports 0 accounts and exits 0, so the operator believes the rotation is done
    // and may retire the old key while the real database is still under it.
    const database = join(dir, "no-such-folder", "typo.db");
    const { code } = await cli(["keys", "rotate", "--database", database], {
      MANDRILL_KIT_KEYS: JSON.stringify({ keys: [generateKey("a")] }),
    });
    expect(code).not.toBe(0);
    expect(existsSync(database)).toBe(false);
  });
});

describe("mandrill-kit usage", () => {
  it.each([["help"], ["--help"], ["-h"]])("%s prints the usage and exits 0", async (arg) => {
    const { code, out } = await cli([arg]);
    expect(code).toBe(0);
    expect(out).toContain("Usage:");
    expect(out).toContain("keys generate");
    expect(out).toContain("keys rotate");
  });

  it.each([[["keys", "--help"]], [["keys", "-h"]], [["keys", "help"]], [["help", "keys"]]])(
    "%j prints the usage of the keys commands on stdout and exits 0",
    async (argv) => {
      const { code, out, err } = await cli(argv);
      expect(code).toBe(0);
      expect(err).toBe("");
      expect(out).toContain("keys generate");
      expect(out).toContain("keys rotate");
      expect(out).not.toContain("Unknown command");
    },
  );

  it.each([
    [["keys", "generate", "--help"], "keys generate", "keys rotate"],
    [["keys", "generate", "--kid", "x", "-h"], "keys generate", "keys rotate"],
    [["keys", "rotate", "--help"], "keys rotate", "keys generate"],
    [["help", "keys", "rotate"], "keys rotate", "keys generate"],
  ])("%j prints the usage of that command, does nothing else, and exits 0", async (argv, shown, hidden) => {
    const { code, out, err } = await cli(argv);
    expect(code).toBe(0);
    expect(err).toBe("");
    expect(out).toContain(shown);
    expect(out).not.toContain(hidden);
    expect(out).not.toContain('"keys"'); // no key set was generated
  });

  it("documents the environment variables it reads", async () => {
    const { out } = await cli(["help"]);
    expect(out).toContain("MANDRILL_KIT_KEYS");
    expect(out).toContain("MANDRILL_KIT_DATABASE_URL");
    expect(out).toContain("--database-url");
  });

  it("without arguments prints the usage on stderr and exits 2", async () => {
    const { code, out, err } = await cli([]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toContain("Usage:");
  });

  it("exits 2 with the command's usage for an unknown option", async () => {
    const { code, out, err } = await cli(["keys", "rotate", "--databse", "x.db"]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toContain("--databse");
    expect(err).toContain("keys rotate (--database FILE");
  });

  it.each([[["keys"]], [["keys", "delete"]], [["rotate"]], [["generate", "keys"]]])(
    "an unknown command %j exits 2 with the usage",
    async (argv) => {
      const { code, out, err } = await cli(argv);
      expect(code).toBe(2);
      expect(out).toBe("");
      expect(err).toContain("Unknown command");
      expect(err).toContain("Usage:");
    },
  );
});

describe("bin/mandrill-kit.mjs", () => {
  it("runs `keys generate` in a child process, exits 0 and prints a key set", async () => {
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(process.execPath, [bin, "keys", "generate", "--kid", "child-1"], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => {
          stdout += d.toString();
        });
        child.stderr.on("data", (d: Buffer) => {
          stderr += d.toString();
        });
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(parseKeySet(result.stdout).keys.map((k) => k.kid)).toEqual(["child-1"]);
  });
});
