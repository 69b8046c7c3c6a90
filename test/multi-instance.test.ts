/**
 * Two example-server processes behind one (imaginary) load balancer share one PostgreSQL schema:
 * webhooks posted to either (the same batch to both, too) are stored once and suppress once, and a
 * suppression written through one instance is honoured by the other's next send.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addKey } from "@mandrill-kit/credentials";
import { type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { eventFixtures, signWebhook } from "@mandrill-kit/webhooks/testing";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// One probe for every PostgreSQL test: skips with a message, or fails under MK_REQUIRE_POSTGRES=1.
import { available, databaseUrl } from "../packages/postgres/test/database.js";

async function query<R>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return (await client.query(text, values)).rows as R[];
  } finally {
    await client.end().catch(() => undefined);
  }
}

const ADMIN_TOKEN = "multi-instance-admin-token-0123456789";
const PUBLIC_URL = "http://mk-load-balancer.example.test";
const WEBHOOK_KEY = "multi-instance-webhook-key-Z9";
const schema = `mk_test_multi_${process.pid}_${Date.now().toString(36)}`;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };

interface Instance {
  url: string;
  child: ChildProcess;
  output: () => string;
}

function startInstance(env: Record<string, string>): Promise<Instance> {
  const child = spawn(process.execPath, ["--import", "tsx", "examples/server/src/main.ts"], {
    cwd: join(import.meta.dirname, ".."),
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not start in 30 s:\n${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on port (\d+)/.exec(out);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${match[1]}`, child, output: () => out });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`instance exited with ${code}:\n${out}`));
    });
  });
}

async function api(instance: Instance, method: string, path: string, body?: unknown) {
  const response = await fetch(`${instance.url}/api${path}`, {
    method,
    headers: auth,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function postWebhook(instance: Instance, callbackUrl: string, events: unknown[]) {
  const signed = signWebhook({ key: WEBHOOK_KEY, url: callbackUrl, events });
  const response = await fetch(`${instance.url}/webhooks/mandrill/acme`, {
    method: "POST",
    headers: signed.headers,
    body: signed.body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe.skipIf(!available)(
  "two example-server instances sharing PostgreSQL",
  () => {
    let simulator: Simulator;
    let a: Instance;
    let b: Instance;
    const dirs: string[] = [];

    beforeAll(async () => {
      simulator = await startSimulator({ acceptAnyKey: true, flushIntervalMs: 0 });
      const common = {
        DATABASE_URL: databaseUrl,
        DATABASE_SCHEMA: schema,
        MANDRILL_KIT_KEYS: JSON.stringify(addKey(undefined)),
        ADMIN_TOKEN,
        UNSUBSCRIBE_SECRET: "multi-instance-unsubscribe-secret-0123456789",
        PUBLIC_URL,
        MANDRILL_SIMULATOR: "off",
        MANDRILL_API_URL: simulator.apiUrl,
        PORT: "0",
        LOG_LEVEL: "warn",
      };
      const dir = () => {
        const d = mkdtempSync(join(tmpdir(), "mk-multi-"));
        dirs.push(d);
        return d;
      };
      [a, b] = await Promise.all([
        startInstance({ ...common, DATA_DIR: dir() }),
        startInstance({ ...common, DATA_DIR: dir() }),
      ]);
    }, 60_000);

    afterAll(async () => {
      for (const instance of [a, b]) {
        if (instance === undefined || instance.child.exitCode !== null) continue;
        const exited = new Promise((resolve) => instance.child.once("exit", resolve));
        instance.child.kill("SIGTERM");
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
        if (instance.child.exitCode === null) instance.child.kill("SIGKILL");
      }
      await simulator?.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      await query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    });

    it("stores each event once and suppresses once, whichever instance a batch reaches", async () => {
      const saved = await api(a, "PUT", "/accounts/acme/mandrill", {
        transport: "api",
        apiKey: "md-multi-instance-key-ABCDEFGHIJKL",
        webhookKey: WEBHOOK_KEY,
        fromEmail: "hello@shop.example.com",
        fromName: "Shop",
      });
      expect(saved.status).toBe(201);
      const fromB = await api(b, "GET", "/accounts/acme/mandrill");
      expect(fromB.status).toBe(200);
      const callbackUrl = fromB.body.callbackUrl as string;
      expect(callbackUrl).toBe(`${PUBLIC_URL}/webhooks/mandrill/acme`);

      const shared = Array.from({ length: 20 }, (_, i) =>
        eventFixtures.hard_bounce({ email: `gone${i}@example.com` }),
      );
      const onlyA = [eventFixtures.send({ email: "a-only@example.com" })];
      const onlyB = [eventFixtures.spam({ email: "complained@example.com" })];
      const results = await Promise.all([
        postWebhook(a, callbackUrl, shared),
        postWebhook(b, callbackUrl, shared),
        postWebhook(a, callbackUrl, onlyA),
        postWebhook(b, callbackUrl, onlyB),
      ]);
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      const [sharedA, sharedB] = results;
      expect(Number(sharedA?.body.new) + Number(sharedB?.body.new)).toBe(20);
      expect(Number(sharedA?.body.duplicates) + Number(sharedB?.body.duplicates)).toBe(20);

      const rows = await query<{ n: number; keys: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT key)::int AS keys FROM "${schema}".inbox WHERE account = 'acme'`,
      );
      expect(rows[0]).toEqual({ n: 22, keys: 22 });
      const suppressed = await query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}".suppressions WHERE account = 'acme' AND email LIKE 'gone%'`,
      );
      expect(suppressed[0]?.n).toBe(20);
      const fromA = await api(a, "GET", "/accounts/acme/suppressions?limit=100");
      expect((fromA.body.items as unknown[]).length).toBe(21);
    });

    it("honours on one instance a suppression added through the other", async () => {
      const added = await api(a, "POST", "/accounts/acme/suppressions", {
        email: "Blocked@Example.net",
        reason: "custom",
        detail: "asked by phone",
      });
      expect(added.status).toBe(201);
      const sent = await api(b, "POST", "/accounts/acme/send", {
        to: ["blocked@example.net", "welcome@example.org"],
        subject: "Hello",
      });
      expect(sent.status).toBe(200);
      expect(sent.body.recipients).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ email: "blocked@example.net", status: "suppressed" }),
          expect.objectContaining({ email: "welcome@example.org", status: "sent" }),
        ]),
      );
    });
  },
  90_000,
);
