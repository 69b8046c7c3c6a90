import { createConnection, createServer, type Server, type Socket } from "node:net";
import { openPostgresStore } from "@mandrill-kit/postgres";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { available, databaseUrl, dropSchema, freshSchema } from "../../../packages/postgres/test/database.js";
import { ADMIN_TOKEN, startTestApp, type TestApp, waitFor } from "./helpers.js";

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const METRICS_TOKEN = "metrics-token-0123456789";

/** The value of a Prometheus series (`name{labels}`) whose labels include all of `labels`, summed. */
function series(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    const set = match[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`)))
      total = (total ?? 0) + Number(match[3]);
  }
  return total;
}

describe("/metrics and /readyz", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ metricsToken: METRICS_TOKEN });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("refuses /metrics without the metrics or admin token", async () => {
    const res = await request(t.url).get("/metrics");
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toContain("Bearer");
    expect(
      (await request(t.url).get("/metrics").set("Authorization", "Bearer wrong-token-000000")).status,
    ).toBe(401);
  });

  it("shows the webhook, dispatcher and sender series after the demo flow (send to a bouncing address)", async () => {
    const account = "demo-co";
    const saved = await request(t.url).put(`/api/accounts/${account}/mandrill`).set(auth).send({
      transport: "api",
      username: "ops@shop.example.com",
      apiKey: "md-example-api-key-ABCDEFGHIJKL-QRST",
      fromEmail: "hello@shop.example.com",
    });
    expect(saved.status).toBe(201);
    const registered = await request(t.url)
      .post(`/api/accounts/${account}/register-webhook`)
      .set(auth)
      .send({ events: ["send", "hard_bounce"] });
    expect(registered.status).toBe(200);
    const sent = await request(t.url)
      .post(`/api/accounts/${account}/send`)
      .set(auth)
      .send({ to: ["ann@example.net", "hard_bounce@test.mandrillapp.com"], subject: "Hi", text: "Hello" });
    expect(sent.status).toBe(200);

    // The simulator posts the signed events back; the example's handler runs for the hard bounce.
    const text = await waitFor(async () => {
      const res = await request(t.url).get("/metrics").set("Authorization", `Bearer ${METRICS_TOKEN}`);
      expect(res.status).toBe(200);
      return (series(res.text, "mandrill_kit_dispatcher_runs_total", { outcome: "ok" }) ?? 0) >= 1
        ? res.text
        : undefined;
    });
    expect(
      series(text, "mandrill_kit_webhooks_batches_total", { outcome: "accepted" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      series(text, "mandrill_kit_webhooks_events_total", {
        outcome: "accepted",
        mandrill_kit_event_type: "hard_bounce",
      }),
    ).toBe(1);
    expect(
      series(text, "mandrill_kit_sender_recipients_total", { mandrill_kit_recipient_status: "sent" }),
    ).toBe(2);
    expect(series(text, "mandrill_kit_sender_sends_total", { outcome: "sent" })).toBe(1);
    expect(series(text, "mandrill_kit_dispatcher_pending")).toBeDefined();
    expect(series(text, "mandrill_kit_dispatcher_dead")).toBe(0);
    expect(text).toMatch(/mandrill_kit_webhooks_ingest_duration(_seconds)?_bucket/);
    // The admin token reads it too.
    expect((await request(t.url).get("/metrics").set(auth)).status).toBe(200);
  });

  it("answers /healthz and /readyz (200 with every check) while everything is up", async () => {
    expect((await request(t.url).get("/healthz")).body).toEqual({ ok: true });
    const ready = await request(t.url).get("/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      ok: true,
      checks: {
        store: { ok: true, ms: expect.any(Number) },
        dispatcher: { ok: true, ms: expect.any(Number) },
        keys: { ok: true, ms: expect.any(Number) },
      },
    });
  });
});

/**
 * A loopback TCP proxy in front of PostgreSQL, so a test can make the database unreachable for this
 * app alone (the shared server keeps running for everyone else).
 */
async function postgresProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = createConnection(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        const address = server?.address();
        port = typeof address === "object" && address !== null ? address.port : 0;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    /** Refuses new connections and drops every open one. */
    async cut() {
      const closed = new Promise<void>((resolve) => server?.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    restore: listen,
    async close() {
      await this.cut().catch(() => undefined);
    },
  };
}

describe.skipIf(!available)("/readyz with PostgreSQL", () => {
  it("answers 503 naming the store while the database is unreachable, and 200 again once it is back", async () => {
    const target = new URL(databaseUrl);
    const proxy = await postgresProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(databaseUrl);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    const schema = freshSchema("readyz");
    const store = await openPostgresStore({
      connectionString: viaProxy.toString(),
      schema,
      connectTimeoutMs: 500,
    });
    const t = await startTestApp({ store });
    try {
      expect((await request(t.url).get("/readyz")).status).toBe(200);
      await proxy.cut();
      const down = await request(t.url).get("/readyz").set(auth);
      expect(down.status).toBe(503);
      expect(down.body.ok).toBe(false);
      expect(down.body.checks.store.ok).toBe(false);
      expect(down.body.checks.store.error).toEqual(expect.any(String));
      expect(down.body.checks.keys.ok).toBe(true);
      // Without a token, only the verdicts and timings.
      const anonymous = await request(t.url).get("/readyz");
      expect(anonymous.status).toBe(503);
      expect(anonymous.body.checks.store).toEqual({ ok: false, ms: expect.any(Number) });
      await proxy.restore();
      await waitFor(async () => ((await request(t.url).get("/readyz")).status === 200 ? true : undefined));
    } finally {
      await t.close();
      await store.close();
      await proxy.close();
      await dropSchema(schema);
    }
  });
});
