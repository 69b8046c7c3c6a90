import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import type { Logger } from "@mandrill-kit/core";
import { type Needle, secretNeedles } from "@mandrill-kit/core/testing";
import {
  addKey,
  type MandrillKitMiddleware,
  type MandrillSettingsInput,
  mandrillKit,
  mandrillSettings,
} from "@mandrill-kit/credentials";
import { openSqliteStore, type SqliteStore } from "@mandrill-kit/sqlite";
import express, { type Express } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Recognisable secrets: any of them (or an encoding of them) showing up anywhere is a leak.
const API_KEY = "md-LEAKCANARY-API-0123456789";
const API_KEY_2 = "md-LEAKCANARY-API2-9876543210";
const HOOK_KEY = "whk-LEAKCANARY-HOOK-abcdef";
const HOOK_KEY_2 = "whk-LEAKCANARY-HOOK2-fedcba";
const KEYS_1 = addKey(undefined, "k1");
const KEYS_2 = addKey(KEYS_1, "k2"); // k2 active, k1 decrypt-only: the rotation step
const BASE = "/admin/email";
const PUBLIC_URL = "https://app.example.com";

const NEEDLES: Needle[] = [
  ...secretNeedles("apiKey", API_KEY),
  ...secretNeedles("apiKey 2", API_KEY_2),
  ...secretNeedles("webhookKey", HOOK_KEY),
  ...secretNeedles("webhookKey 2", HOOK_KEY_2),
  ...KEYS_2.keys.flatMap((jwk) => [
    ...secretNeedles(`JWK k of ${jwk.kid}`, jwk.k),
    // The key bytes themselves, also in standard base64 (k is their base64url form).
    ...secretNeedles(`key bytes of ${jwk.kid}`, jwk.k, Buffer.from(jwk.k, "base64url")),
  ]),
];

function leaksIn(where: string, haystack: string | Buffer): string[] {
  return NEEDLES.filter((n) => haystack.includes(n.text)).map((n) => `${n.label} in ${where}`);
}

// Everything the exercise produced, filled in beforeAll and searched by the tests.
const logs: string[] = [];
const responses: { what: string; status: number; text: string }[] = [];
const errors: { what: string; error: unknown }[] = [];
const files: { what: string; bytes: Buffer }[] = [];
const objects: { what: string; value: unknown }[] = [];

const logger: Logger = {
  debug: (ctx, msg) => logs.push(JSON.stringify({ level: "debug", ctx, msg })),
  info: (ctx, msg) => logs.push(JSON.stringify({ level: "info", ctx, msg })),
  warn: (ctx, msg) => logs.push(JSON.stringify({ level: "warn", ctx, msg })),
  error: (ctx, msg) => logs.push(JSON.stringify({ level: "error", ctx, msg })),
};

const dir = mkdtempSync(join(tmpdir(), "mk-leak-"));
const filename = join(dir, "kit.sqlite");
let store: SqliteStore;
let kit1: MandrillKitMiddleware;
let kit2: MandrillKitMiddleware;

function appWith(kit: MandrillKitMiddleware): Express {
  const app = express();
  app.use(kit);
  app.use(BASE, mandrillSettings({ authorize: (req) => req.get("x-admin") === "yes" }));
  return app;
}

interface CallOptions {
  /** A JSON body. */
  json?: unknown;
  /** A body sent as is, with this Content-Type. */
  raw?: { type: string; data: string };
  /** Send the header the authorize hook wants. @default true */
  admin?: boolean;
}

async function call(
  what: string,
  app: Express,
  method: "get" | "put" | "delete",
  path: string,
  options: CallOptions = {},
) {
  let req = request(app)[method](BASE + path);
  if (options.admin !== false) req = req.set("x-admin", "yes");
  if (options.raw !== undefined) req = req.set("Content-Type", options.raw.type).send(options.raw.data);
  else if (options.json !== undefined) req = req.send(options.json as object);
  const res = await req;
  responses.push({
    what: `${what} (${method.toUpperCase()} ${path} → ${res.status})`,
    status: res.status,
    text: `${JSON.stringify(res.headers)}\n${res.text}`,
  });
  return res;
}

async function attempt(what: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    errors.push({ what, error });
    return;
  }
  throw new Error(`${what} was expected to fail`);
}

function readDatabaseFiles(when: string): void {
  for (const suffix of ["", "-wal", "-shm"]) {
    const path = filename + suffix;
    if (existsSync(path)) files.push({ what: `${when}: kit.sqlite${suffix}`, bytes: readFileSync(path) });
  }
}

/** Replaces one character in the middle of a JWE's ciphertext: still well-formed, no longer authentic. */
function tamper(jwe: string): string {
  const parts = jwe.split(".");
  const ct = parts[3] as string;
  const i = Math.floor(ct.length / 2);
  parts[3] = ct.slice(0, i) + (ct[i] === "A" ? "B" : "A") + ct.slice(i + 1);
  return parts.join(".");
}

function secretsOf(account: string): Record<string, string> {
  const row = store.database.prepare("SELECT secrets FROM credentials WHERE account = ?").get(account) as {
    secrets: string;
  };
  return JSON.parse(row.secrets) as Record<string, string>;
}

function writeSecrets(account: string, secrets: Record<string, string>): void {
  store.database
    .prepare("UPDATE credentials SET secrets = ? WHERE account = ?")
    .run(JSON.stringify(secrets), account);
}

const invalidBodies: [string, unknown][] = [
  ["apiKey as fromEmail", { fromEmail: API_KEY }],
  ["webhook key as replyTo", { replyTo: HOOK_KEY }],
  ["both keys in apiKey", { apiKey: `${API_KEY} ${HOOK_KEY}` }],
  ["webhook key with a space", { webhookKey: `${HOOK_KEY} ${HOOK_KEY}` }],
  ["apiKey as port", { port: API_KEY }],
  ["apiKey as transport", { transport: API_KEY }],
  ["webhook key as unsubscribeMode", { unsubscribeMode: HOOK_KEY }],
  ["apiKey in a username with a control character", { username: `\u0007${API_KEY}` }],
  ["keys in a two-line fromName", { fromName: `${HOOK_KEY}\n${API_KEY}` }],
  ["apiKey in a subaccount with a newline", { subaccount: `a\n${API_KEY}` }],
  ["apiKey as a URL in host", { host: `https://${API_KEY}/` }],
  ["webhook key where its id belongs", { removeWebhookKeys: [HOOK_KEY] }],
  ["apiKey as expectedVersion", { expectedVersion: API_KEY }],
  ["apiKey as a list", { apiKey: [API_KEY] }],
  ["webhook key as an object", { webhookKey: { key: HOOK_KEY } }],
];

beforeAll(async () => {
  store = openSqliteStore({ filename, logger });
  kit1 = mandrillKit({ store, keys: JSON.stringify(KEYS_1), publicUrl: PUBLIC_URL, logger });
  const app1 = appWith(kit1);
  const service1 = kit1.credentials;

  // The settings API, valid requests.
  await call("create", app1, "put", "/acme", {
    json: {
      transport: "smtp",
      username: "owner@example.com",
      apiKey: API_KEY,
      fromEmail: "hello@example.com",
      webhookKey: HOOK_KEY,
    },
  });
  await call("read", app1, "get", "/acme");
  await call("update keeping the key", app1, "put", "/acme", { json: { fromName: "Acme", apiKey: "" } });
  await call("new keys", app1, "put", "/acme", { json: { apiKey: API_KEY_2, webhookKey: HOOK_KEY_2 } });
  const view = await call("read again", app1, "get", "/acme");
  const oldHookId = (view.body.webhookKeys as { id: string }[])[1]?.id as string;

  // The settings API, invalid requests carrying the secrets.
  for (const [what, body] of invalidBodies) await call(what, app1, "put", "/acme", { json: body });
  await call("secrets as text/plain", app1, "put", "/acme", { raw: { type: "text/plain", data: API_KEY } });
  await call("secrets in broken JSON", app1, "put", "/acme", {
    raw: { type: "application/json", data: `{"apiKey":"${API_KEY}","webhookKey":"${HOOK_KEY}"` },
  });
  await call("secrets in an oversized body", app1, "put", "/acme", {
    json: { apiKey: API_KEY, fromName: `${HOOK_KEY} `.repeat(1000) },
  });
  await call("secrets without authorisation", app1, "put", "/acme", {
    json: { apiKey: API_KEY },
    admin: false,
  });
  await call("secrets for an invalid account", app1, "put", "/-acme", {
    json: { apiKey: API_KEY, webhookKey: HOOK_KEY },
  });
  await call("create where it exists (stale version)", app1, "put", "/acme", {
    json: { apiKey: API_KEY, expectedVersion: 0 },
  });

  // Removing webhook keys: by id, and the slip of pasting the key itself.
  await call("remove the old webhook key", app1, "delete", `/acme/webhook-keys/${oldHookId}`);
  await call("remove a webhook key by its value", app1, "delete", `/acme/webhook-keys/${HOOK_KEY_2}`);

  // The service, directly.
  await service1.save("globex", {
    transport: "api",
    apiKey: API_KEY,
    fromEmail: "mail@globex.example",
    webhookKey: HOOK_KEY,
  });
  await service1.save("initech", {
    transport: "api",
    apiKey: API_KEY_2,
    fromEmail: "mail@initech.example",
    webhookKey: HOOK_KEY_2,
  });
  objects.push({ what: "get(globex)", value: await service1.get("globex") });
  objects.push({ what: "describe(globex)", value: await service1.describe("globex") });
  objects.push({ what: "list()", value: await service1.list() });
  objects.push({ what: "webhookKeys(globex)", value: await service1.webhookKeys("globex") });
  objects.push({ what: "callbackUrl(globex)", value: service1.callbackUrl("globex") });
  await service1.recordVerification("globex", {
    at: Date.now(),
    ok: false,
    summary: "Mandrill answered Invalid_Key",
  });
  for (const [what, body] of invalidBodies) {
    await attempt(`service save: ${what}`, () =>
      service1.save("globex", body as unknown as MandrillSettingsInput),
    );
  }
  await attempt("service save: stale version", () =>
    service1.save("globex", { apiKey: API_KEY }, { expectedVersion: 0 }),
  );
  await attempt("service recordVerification: unknown account", () =>
    service1.recordVerification("nobody", { at: 0, ok: true, summary: "ok" }),
  );

  // Rotation: k2 becomes active, every secret is re-encrypted under it.
  kit2 = mandrillKit({ store, keys: JSON.stringify(KEYS_2), publicUrl: PUBLIC_URL, logger });
  const report = await kit2.credentials.rotate();
  objects.push({ what: "rotation report", value: report });
  objects.push({ what: "get(acme) after rotation", value: await kit2.credentials.get("acme") });
  const app2 = appWith(kit2);
  await call("read after rotation", app2, "get", "/acme");

  // Decryption errors surfaced through GET: a key no longer configured, an altered ciphertext, and a
  // ciphertext copied to another field.
  service1.invalidate();
  await call("read with the old key set only", app1, "get", "/acme");
  await attempt("service get with the old key set only", () => service1.get("acme"));
  const globex = secretsOf("globex");
  writeSecrets("globex", { ...globex, apiKey: tamper(globex.apiKey as string) });
  const initech = secretsOf("initech");
  const hookField = Object.keys(initech).find((f) => f.startsWith("webhookKey:")) as string;
  writeSecrets("initech", { ...initech, apiKey: initech[hookField] as string });
  kit2.credentials.invalidate();
  await call("read an altered ciphertext", app2, "get", "/globex");
  await call("read a ciphertext copied between fields", app2, "get", "/initech");
  await attempt("service get of an altered ciphertext", () => kit2.credentials.get("globex"));
  await attempt("service webhookKeys of a copied ciphertext", () => kit2.credentials.webhookKeys("initech"));
  await attempt("rotation over an altered ciphertext", async () => {
    const again = await mandrillKit({
      store,
      keys: JSON.stringify(addKey(KEYS_2, "k3")),
      publicUrl: PUBLIC_URL,
      logger,
    }).credentials.rotate();
    objects.push({ what: "failed rotation report", value: again });
    if (again.failed.length > 0) throw new Error(JSON.stringify(again.failed));
  });

  objects.push(
    { what: "the service", value: kit1.credentials },
    { what: "the rotated service", value: kit2.credentials },
    { what: "the mandrillKit middleware", value: kit1 },
    { what: "the mandrillKit middleware after rotation", value: kit2 },
    { what: "the kit context", value: kit1.context },
    { what: "the kit context after rotation", value: kit2.context },
  );

  readDatabaseFiles("while open");
  await store.close();
  readDatabaseFiles("after close");
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("leak test: secrets appear nowhere", () => {
  it("went through every surface it searches", () => {
    const statuses = new Set(responses.map((r) => r.status));
    for (const status of [200, 201, 400, 403, 404, 409, 413, 415, 422, 500])
      expect(statuses).toContain(status);
    expect(
      responses.filter((r) => r.status === 500).map((r) => JSON.parse(r.text.split("\n")[1] ?? "{}")),
    ).toEqual([
      { error: expect.objectContaining({ code: "ERR_MK_CRYPTO_UNKNOWN_KEY" }) },
      { error: expect.objectContaining({ code: "ERR_MK_CRYPTO_DECRYPT_FAILED" }) },
      { error: expect.objectContaining({ code: "ERR_MK_CRYPTO_WRONG_BINDING" }) },
    ]);
    expect(objects.find((o) => o.what === "rotation report")?.value).toMatchObject({
      accounts: 3,
      reencrypted: 6,
      failed: [],
      activeKid: "k2",
    });
    expect(errors.length).toBeGreaterThan(invalidBodies.length);
    expect(logs.some((l) => l.includes("saved Mandrill settings"))).toBe(true);
    expect(logs.some((l) => l.includes('"level":"error"'))).toBe(true);
    expect(files.map((f) => f.what)).toEqual(
      expect.arrayContaining([
        "while open: kit.sqlite",
        "while open: kit.sqlite-wal",
        "after close: kit.sqlite",
      ]),
    );
    // The needles work: a secret base64-encoded behind 2 other bytes is found.
    const probe = `x${Buffer.from(`ab${HOOK_KEY}cd`).toString("base64")}y`;
    expect(leaksIn("a probe", probe)).toContain("webhookKey (base64, alignment 2) in a probe");
  });

  it("not in the SQLite file, its -wal or its -shm", () => {
    expect(files.flatMap((f) => leaksIn(f.what, f.bytes))).toEqual([]);
  });

  it("not in any log entry", () => {
    expect(logs.flatMap((entry, i) => leaksIn(`log entry ${i}: ${entry.slice(0, 200)}`, entry))).toEqual([]);
  });

  it("not in any HTTP response body or header", () => {
    expect(responses.flatMap((r) => leaksIn(r.what, r.text))).toEqual([]);
  });

  it("not in the message, JSON or inspection of any thrown error", () => {
    expect(
      errors.flatMap(({ what, error }) =>
        leaksIn(
          what,
          `${error instanceof Error ? error.message : String(error)}\n${JSON.stringify(error)}\n${inspect(error, { depth: 10 })}`,
        ),
      ),
    ).toEqual([]);
  });

  it("not in JSON.stringify or util.inspect of the service, the middleware, its context and settings", () => {
    expect(
      objects.flatMap(({ what, value }) => [
        ...leaksIn(`JSON of ${what}`, String(JSON.stringify(value))),
        ...leaksIn(`inspect of ${what}`, inspect(value, { depth: 10 })),
      ]),
    ).toEqual([]);
  });
});
