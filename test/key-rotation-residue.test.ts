/**
 * Issue 13, item 3: after a key rotation, the SQLite files must hold no ciphertext under the retired
 * key. Before the fix, the old JWEs stayed in free pages of the database and in frames of the WAL,
 * so the retired key alone decrypted a rotated API key from a copy of the files.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { Logger } from "@mandrill-kit/core";
import { secretNeedles } from "@mandrill-kit/core/testing";
import {
  type CredentialsService,
  createCredentials,
  generateKey,
  type OctJwk,
} from "@mandrill-kit/credentials";
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from "@mandrill-kit/sqlite";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "mk-rotation-residue-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const keyA = generateKey("key-A");
const keyB = generateKey("key-B");
const ACCOUNTS = ["acme", "beta", "gamma"];

function credentials(store: SqliteStore, ...keys: OctJwk[]): CredentialsService {
  return createCredentials({ store, keys: JSON.stringify({ keys }), publicUrl: "https://app.example.com" });
}

function open(options: Partial<SqliteStoreOptions> = {}): SqliteStore {
  return openSqliteStore({ filename: join(dir, `residue-${++files}`, "mandrill.db"), ...options });
}

/** Saves each account twice under `keys` (a new API key the second time), as an admin would. */
async function saveAccounts(service: CredentialsService): Promise<void> {
  for (const account of ACCOUNTS) {
    for (const round of [1, 2]) {
      await service.save(account, {
        transport: "api",
        apiKey: `md-${account}-${round}-${generateKey().k.slice(0, 20)}`,
        fromEmail: `${account}@example.com`,
        webhookKey: `wh-${account}-${round}-${generateKey().k.slice(0, 12)}`,
      });
    }
  }
}

/** Every stored ciphertext, read through the store. */
async function storedJwes(store: SqliteStore): Promise<string[]> {
  const { items } = await store.credentials.list({ limit: 1000 });
  return items.flatMap((r) => Object.values(r.secrets));
}

/** The bytes of the database file and of its `-wal` and `-shm` files, as they are on disk now. */
function fileBytes(store: SqliteStore): Buffer {
  const folder = dirname(store.filename);
  const name = basename(store.filename);
  return Buffer.concat(
    readdirSync(folder)
      .filter((f) => f.startsWith(name))
      .map((f) => readFileSync(join(folder, f))),
  );
}

/**
 * What in the files gives away a ciphertext under `kid`: its JWE protected header (base64url JSON with
 * the kid, found at any byte alignment), and each encrypted segment (wrapped key, IV, ciphertext, tag)
 * of the given JWEs, any of which would let the retired key decrypt. The header goes on after the kid
 * (`"kid":"key-A","mk.account":…`), so the needle ends past it: an encoding at any alignment then
 * still covers the kid's last character.
 */
function residue(bytes: Buffer, kid: string, jwes: readonly string[]): string[] {
  const text = bytes.toString("latin1");
  const header = secretNeedles(`kid ${kid}`, `"kid":"${kid}",`)
    .filter((n) => n.label.includes("base64url"))
    .filter((n) => text.includes(n.text))
    .map((n) => n.label);
  const segments = jwes.flatMap((jwe) =>
    jwe
      .split(".")
      .slice(1)
      .filter((segment) => segment.length >= 16 && text.includes(segment))
      .map((segment) => `segment ${segment.slice(0, 8)}…`),
  );
  return [...header, ...segments];
}

describe("key rotation on a SQLite file leaves no ciphertext under the retired key", () => {
  it("after rotate(), neither the database nor its WAL holds a JWE with the retired kid", async () => {
    const store = open();
    await saveAccounts(credentials(store, keyA));
    const retired = await storedJwes(store);
    // The scan sees what is there: every current ciphertext is under key-A before the rotation.
    expect(residue(fileBytes(store), "key-A", retired).length).toBeGreaterThan(0);

    const report = await credentials(store, keyB, keyA).rotate();
    expect(report).toMatchObject({
      accounts: 3,
      reencrypted: retired.length,
      failed: [],
      activeKid: "key-B",
    });

    expect(residue(fileBytes(store), "key-A", retired)).toEqual([]);
    expect(residue(fileBytes(store), "key-B", []).length).toBeGreaterThan(0);
    // Still usable under key-B alone.
    const onlyB = credentials(store, keyB);
    for (const account of ACCOUNTS) expect((await onlyB.get(account))?.apiKey?.reveal()).toMatch(/^md-/);
    await store.close();
    expect(residue(fileBytes(store), "key-A", retired)).toEqual([]);
  });

  it("deleting an account leaves none of its ciphertexts in the files", async () => {
    const store = open();
    await saveAccounts(credentials(store, keyA));
    const { items } = await store.credentials.list();
    const gone = items.filter((r) => r.account === "beta").flatMap((r) => Object.values(r.secrets));
    expect(await credentials(store, keyA).delete("beta")).toBe(true);
    expect(residue(fileBytes(store), "unused-kid", gone)).toEqual([]);
    expect(residue(fileBytes(store), "key-A", []).length).toBeGreaterThan(0); // the other accounts
    await store.close();
  });

  it("when another connection is reading during the rotation, the purge finishes at the store's next call", async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (_context, message) => warnings.push(message),
      error: () => undefined,
    };
    const store = open({ busyTimeoutMs: 20, logger });
    await saveAccounts(credentials(store, keyA));
    const retired = await storedJwes(store);

    // Another process's connection in the middle of a read: its snapshot needs the old WAL frames.
    const reader = new Database(store.filename, { readonly: true });
    reader.exec("BEGIN");
    reader.prepare("SELECT count(*) FROM credentials").get();
    await credentials(store, keyB, keyA).rotate();
    expect(warnings.some((w) => /WAL/.test(w))).toBe(true);

    reader.exec("COMMIT");
    reader.close();
    await store.suppressions.count("acme"); // any call of the store
    expect(residue(fileBytes(store), "key-A", retired)).toEqual([]);
    expect(existsSync(`${store.filename}-wal`) ? readFileSync(`${store.filename}-wal`).length : 0).toBe(0);
    await store.close();
  });
});
