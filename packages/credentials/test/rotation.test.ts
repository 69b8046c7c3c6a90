import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type CredentialRecord,
  createMemoryStore,
  MandrillKitCryptoError,
  type Store,
} from "@mandrill-kit/core";
import { maskSecret } from "@mandrill-kit/core/plugin";
import {
  type CredentialsService,
  createCredentials,
  generateKey,
  type OctJwk,
  type RotationReport,
} from "@mandrill-kit/credentials";
import { openSqliteStore, type SqliteStore } from "@mandrill-kit/sqlite";
import { afterAll, describe, expect, it } from "vitest";
// The JWE layer and the key ring are internals of the package: tested from source.
import { encryptSecret, keyIdOf } from "../src/jwe.js";
import { checkKeySet, createKeyRing } from "../src/key-ring.js";

const bin = fileURLToPath(new URL("../bin/mandrill-kit.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "mk-credentials-rotation-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keyA = generateKey("key-A");
const keyB = generateKey("key-B");
const keyX = generateKey("key-X");

function keySet(...keys: OctJwk[]): string {
  return JSON.stringify({ keys });
}

function service(store: Store, ...keys: OctJwk[]): CredentialsService {
  return createCredentials({ store, keys: keySet(...keys), publicUrl: "https://app.example.com" });
}

/** The plaintexts an account was saved with; webhook keys newest (current) first. */
interface Saved {
  apiKey: string;
  webhookKeys: string[];
}

async function allRecords(store: Store): Promise<CredentialRecord[]> {
  const records: CredentialRecord[] = [];
  let after: string | null = null;
  do {
    const page: { items: CredentialRecord[]; next: string | null } = await store.credentials.list({
      limit: 100,
      after,
    });
    records.push(...page.items);
    after = page.next;
  } while (after !== null);
  return records;
}

/** The kid of every stored secret, read from the JWE headers in the store (no decryption). */
async function kidsByField(store: Store): Promise<Array<{ account: string; field: string; kid: string }>> {
  return (await allRecords(store)).flatMap((r) =>
    Object.entries(r.secrets).map(([field, jwe]) => ({
      account: r.account,
      field,
      kid: keyIdOf(jwe, r.account, field),
    })),
  );
}

/** Saves an account through the service: an API key and two webhook keys (the second current). */
async function saveAccount(credentials: CredentialsService, account: string): Promise<Saved> {
  const saved = {
    apiKey: `md-api-${account}-${generateKey().k.slice(0, 16)}`,
    webhookKeys: [`wh-new-${account}-${generateKey().k.slice(0, 12)}`, `wh-old-${account}`],
  };
  await credentials.save(account, {
    transport: "api",
    apiKey: saved.apiKey,
    fromEmail: `${account}@example.com`,
    webhookKey: saved.webhookKeys[1],
  });
  await credentials.save(account, { webhookKey: saved.webhookKeys[0] });
  return saved;
}

async function expectDecryptsTo(
  credentials: CredentialsService,
  account: string,
  saved: Saved,
): Promise<void> {
  const settings = await credentials.get(account);
  expect(settings?.apiKey?.reveal()).toBe(saved.apiKey);
  expect(settings?.webhookKeys.map((k) => k.key.reveal())).toEqual(saved.webhookKeys);
  expect((await credentials.webhookKeys(account)).map((k) => k.reveal())).toEqual(saved.webhookKeys);
  const description = await credentials.describe(account);
  expect(description?.apiKey).toBe(maskSecret(saved.apiKey));
  expect(description?.webhookKeys.map((k) => k.masked)).toEqual(saved.webhookKeys.map(maskSecret));
}

async function expectCryptoRejection(promise: Promise<unknown>, code: MandrillKitCryptoError["code"]) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MandrillKitCryptoError);
  expect((error as MandrillKitCryptoError).code).toBe(code);
}

const stores: Array<[string, () => { store: Store; reopen(): Store }]> = [
  [
    "memory",
    () => {
      const store = createMemoryStore();
      return { store, reopen: () => store };
    },
  ],
  [
    "SQLite file",
    () => {
      const filename = join(dir, `a-${Math.random().toString(36).slice(2)}.db`);
      return { store: openSqliteStore({ filename }), reopen: () => openSqliteStore({ filename }) };
    },
  ],
];

describe.each(stores)("key rotation on the %s store", (_kind, open) => {
  it("rotates A → B, and everything still decrypts after A is removed", async () => {
    const { store } = open();
    const accounts = ["acme", "beta-2", "c.d_e", "zeta"];
    const saved = new Map<string, Saved>();
    const underA = service(store, keyA);
    for (const account of accounts) saved.set(account, await saveAccount(underA, account));
    expect(new Set((await kidsByField(store)).map((s) => s.kid))).toEqual(new Set(["key-A"]));

    const report = await service(store, keyB, keyA).rotate();
    expect(report).toEqual({
      accounts: 4,
      reencrypted: 12,
      alreadyCurrent: 0,
      failed: [],
      activeKid: "key-B",
    } satisfies RotationReport);
    const kids = await kidsByField(store);
    expect(kids).toHaveLength(12);
    for (const secret of kids) expect(secret).toMatchObject({ kid: "key-B" });

    const onlyB = service(store, keyB);
    for (const [account, values] of saved) await expectDecryptsTo(onlyB, account, values);
    const again = await onlyB.rotate();
    expect(again).toMatchObject({ accounts: 4, reencrypted: 0, alreadyCurrent: 12, failed: [] });
    await store.close();
  });

  it("reports an account whose secret is under a key no longer configured, and rotates the others", async () => {
    const { store } = open();
    const saved = new Map<string, Saved>();
    for (const account of ["a1", "a2", "a3"])
      saved.set(account, await saveAccount(service(store, keyA), account));
    await saveAccount(service(store, keyX), "orphan");

    const progress: string[] = [];
    const report = await service(store, keyB, keyA).rotate({
      onProgress: ({ account }) => progress.push(account),
    });
    expect(progress.sort()).toEqual(["a1", "a2", "a3", "orphan"]);
    expect(report).toMatchObject({ accounts: 4, reencrypted: 9, alreadyCurrent: 0, activeKid: "key-B" });
    expect(report.failed).toEqual([
      { account: "orphan", code: "ERR_MK_CRYPTO_UNKNOWN_KEY", message: expect.stringContaining("key-X") },
    ]);
    for (const k of [keyA.k, keyB.k, keyX.k]) expect(JSON.stringify(report)).not.toContain(k);

    const kids = await kidsByField(store);
    for (const s of kids) expect(s.kid).toBe(s.account === "orphan" ? "key-X" : "key-B");
    const onlyB = service(store, keyB);
    for (const [account, values] of saved) await expectDecryptsTo(onlyB, account, values);
    await expectCryptoRejection(onlyB.get("orphan"), "ERR_MK_CRYPTO_UNKNOWN_KEY");
    await store.close();
  });
});

describe("ciphertexts moved between rows of the SQLite file", () => {
  function rawSecrets(store: SqliteStore, account: string): string {
    const row = store.database.prepare("SELECT secrets FROM credentials WHERE account = ?").get(account) as {
      secrets: string;
    };
    return row.secrets;
  }

  function setRawSecrets(store: SqliteStore, account: string, secrets: string): void {
    const result = store.database
      .prepare("UPDATE credentials SET secrets = ? WHERE account = ?")
      .run(secrets, account);
    expect(result.changes).toBe(1);
  }

  async function setUp(name: string): Promise<{ filename: string; saved: Map<string, Saved> }> {
    const filename = join(dir, `${name}.db`);
    const store = openSqliteStore({ filename });
    const credentials = service(store, keyA);
    const saved = new Map<string, Saved>();
    for (const account of ["alice", "bob"]) saved.set(account, await saveAccount(credentials, account));
    await store.close();
    return { filename, saved };
  }

  it("fails to decrypt, with ERR_MK_CRYPTO_WRONG_BINDING, after swapping two accounts' secrets by SQL", async () => {
    const { filename, saved } = await setUp("swap-accounts");
    const tamper = openSqliteStore({ filename });
    const alice = rawSecrets(tamper, "alice");
    const bob = rawSecrets(tamper, "bob");
    setRawSecrets(tamper, "alice", bob);
    setRawSecrets(tamper, "bob", alice);
    await tamper.close();

    const store = openSqliteStore({ filename });
    const credentials = service(store, keyA);
    for (const account of ["alice", "bob"]) {
      await expectCryptoRejection(credentials.get(account), "ERR_MK_CRYPTO_WRONG_BINDING");
      await expectCryptoRejection(credentials.describe(account), "ERR_MK_CRYPTO_WRONG_BINDING");
      await expectCryptoRejection(credentials.webhookKeys(account), "ERR_MK_CRYPTO_WRONG_BINDING");
    }
    // Putting them back restores both accounts: the failure came from the swap alone.
    setRawSecrets(store, "alice", alice);
    setRawSecrets(store, "bob", bob);
    for (const [account, values] of saved) await expectDecryptsTo(service(store, keyA), account, values);
    await store.close();
  });

  it("fails to decrypt after copying only the API key ciphertext from another account by SQL", async () => {
    const { filename } = await setUp("copy-api-key");
    const tamper = openSqliteStore({ filename });
    const bobSecrets = JSON.parse(rawSecrets(tamper, "bob")) as Record<string, string>;
    const aliceSecrets = JSON.parse(rawSecrets(tamper, "alice")) as Record<string, string>;
    setRawSecrets(tamper, "bob", JSON.stringify({ ...bobSecrets, apiKey: aliceSecrets.apiKey }));
    await tamper.close();

    const store = openSqliteStore({ filename });
    await expectCryptoRejection(service(store, keyA).get("bob"), "ERR_MK_CRYPTO_WRONG_BINDING");
    await store.close();
  });

  it("fails to decrypt after swapping an account's API key and webhook key ciphertexts by SQL", async () => {
    const { filename } = await setUp("swap-fields");
    const tamper = openSqliteStore({ filename });
    const secrets = JSON.parse(rawSecrets(tamper, "alice")) as Record<string, string>;
    const webhookField = Object.keys(secrets).find((f) => f.startsWith("webhookKey:")) as string;
    const swapped = { ...secrets, apiKey: secrets[webhookField], [webhookField]: secrets.apiKey };
    setRawSecrets(tamper, "alice", JSON.stringify(swapped));
    await tamper.close();

    const store = openSqliteStore({ filename });
    await expectCryptoRejection(service(store, keyA).get("alice"), "ERR_MK_CRYPTO_WRONG_BINDING");
    await store.close();
  });

  it("fails to decrypt after swapping two webhook keys of one account by SQL", async () => {
    const { filename } = await setUp("swap-webhook-keys");
    const tamper = openSqliteStore({ filename });
    const secrets = JSON.parse(rawSecrets(tamper, "alice")) as Record<string, string>;
    const [first, second] = Object.keys(secrets).filter((f) => f.startsWith("webhookKey:")) as [
      string,
      string,
    ];
    setRawSecrets(
      tamper,
      "alice",
      JSON.stringify({ ...secrets, [first]: secrets[second], [second]: secrets[first] }),
    );
    await tamper.close();

    const store = openSqliteStore({ filename });
    await expectCryptoRejection(service(store, keyA).webhookKeys("alice"), "ERR_MK_CRYPTO_WRONG_BINDING");
    await store.close();
  });
});

describe("a rotation killed half-way", () => {
  const ACCOUNTS = 400;

  interface CliRun {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    progressLines: number;
  }

  /** Runs the real CLI in a child process; with `killAfter`, SIGKILLs it after that many progress lines. */
  function runRotate(database: string, keysFile: string, killAfter?: number): Promise<CliRun> {
    return new Promise((resolve, reject) => {
      const env = { ...process.env };
      delete env.MANDRILL_KIT_KEYS;
      const child = spawn(
        process.execPath,
        [bin, "keys", "rotate", "--database", database, "--keys-file", keysFile],
        { stdio: ["ignore", "pipe", "pipe"], env },
      );
      let stdout = "";
      let stderr = "";
      let progressLines = 0;
      let killed = false;
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        progressLines = stderr.split("\n").filter((line) => /^rotated \d+ account\(s\)$/.test(line)).length;
        if (killAfter !== undefined && !killed && progressLines >= killAfter) {
          killed = true;
          child.kill("SIGKILL");
        }
      });
      child.on("error", reject);
      child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, progressLines }));
    });
  }

  function settingsFor(account: string, webhookId: string, at: number): Record<string, unknown> {
    return {
      transport: "api",
      host: "smtp.mandrillapp.com",
      port: 587,
      username: "",
      fromEmail: `${account}@example.com`,
      fromName: "",
      replyTo: null,
      subaccount: null,
      unsubscribeMode: "mandrill",
      webhookKeys: [{ id: webhookId, addedAt: at }],
      lastVerification: null,
    };
  }

  function kidsOfRow(record: CredentialRecord): Set<string> {
    return new Set(Object.entries(record.secrets).map(([field, jwe]) => keyIdOf(jwe, record.account, field)));
  }

  it("leaves every row readable and the file sound, and a second run finishes the job", async () => {
    const database = join(dir, "crash.db");
    const keysFile = join(dir, "keys-BA.json");
    writeFileSync(keysFile, keySet(keyB, keyA), { mode: 0o600 });

    const saved = new Map<string, Saved>();
    const setup = openSqliteStore({ filename: database });
    const ringA = await createKeyRing(checkKeySet({ keys: [keyA] }));
    const now = Date.now();
    for (let i = 0; i < ACCOUNTS; i++) {
      const account = `acct-${String(i).padStart(4, "0")}`;
      const values = {
        apiKey: `md-crash-${i}-${keyA.kid}-${Math.random()}`,
        webhookKeys: [`wh-crash-${i}-${Math.random()}`],
      };
      saved.set(account, values);
      await setup.credentials.put(account, {
        settings: settingsFor(account, "w1", now),
        secrets: {
          apiKey: await encryptSecret(ringA, account, "apiKey", values.apiKey),
          "webhookKey:w1": await encryptSecret(
            ringA,
            account,
            "webhookKey:w1",
            values.webhookKeys[0] as string,
          ),
        },
      });
    }
    await setup.close();

    const killed = await runRotate(database, keysFile, 50);
    expect(killed.signal).toBe("SIGKILL");
    expect(killed.progressLines).toBeGreaterThanOrEqual(50);
    expect(killed.stdout).toBe(""); // the final report was never printed

    const afterCrash = openSqliteStore({ filename: database });
    expect(afterCrash.integrityCheck()).toBe("ok");
    const rows = await allRecords(afterCrash);
    expect(rows).toHaveLength(ACCOUNTS);
    const rowKids = rows.map(kidsOfRow);
    // Each account is rewritten in one transaction: never half under A and half under B.
    for (const kids of rowKids) expect(kids.size).toBe(1);
    const rotatedBefore = rowKids.filter((kids) => kids.has("key-B")).length;
    expect(rotatedBefore).toBeGreaterThanOrEqual(50);
    expect(rotatedBefore).toBeLessThan(ACCOUNTS);
    const both = service(afterCrash, keyB, keyA);
    for (const [account, values] of saved) {
      const settings = await both.get(account);
      expect(settings?.apiKey?.reveal()).toBe(values.apiKey);
      expect(settings?.webhookKeys.map((k) => k.key.reveal())).toEqual(values.webhookKeys);
    }
    await afterCrash.close();

    // Nothing the killed process wrote (database, WAL, shared memory) holds a plaintext secret.
    const bytes = Buffer.concat(
      readdirSync(dir)
        .filter((name) => name.startsWith("crash.db"))
        .map((name) => readFileSync(join(dir, name))),
    );
    for (const values of saved.values()) {
      expect(bytes.includes(values.apiKey)).toBe(false);
      expect(bytes.includes(values.webhookKeys[0] as string)).toBe(false);
    }

    const resumed = await runRotate(database, keysFile);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as RotationReport;
    expect(report).toEqual({
      accounts: ACCOUNTS,
      reencrypted: 2 * (ACCOUNTS - rotatedBefore),
      alreadyCurrent: 2 * rotatedBefore,
      failed: [],
      activeKid: "key-B",
    });

    const final = openSqliteStore({ filename: database });
    expect(final.integrityCheck()).toBe("ok");
    for (const secret of await kidsByField(final)) expect(secret.kid).toBe("key-B");
    const onlyB = service(final, keyB);
    for (const [account, values] of saved) {
      const settings = await onlyB.get(account);
      expect(settings?.apiKey?.reveal()).toBe(values.apiKey);
      expect(settings?.webhookKeys.map((k) => k.key.reveal())).toEqual(values.webhookKeys);
    }
    await final.close();
  }, 120_000);
});
