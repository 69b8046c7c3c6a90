import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { addKey, mandrillKit } from "@mandrill-kit/credentials";
import { createSender } from "@mandrill-kit/sender";
import { eventFixtures, signWebhook } from "@mandrill-kit/webhooks/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCOUNT,
  ADMIN_TOKEN,
  API_KEY,
  capturingLogger,
  eventually,
  type Needle,
  type RunningApp,
  secretNeedles,
  startApp,
  WEBHOOK_KEY,
} from "./helpers.js";

const API_KEY_2 = "md-RELIABILITY-API-KEY2-9876543210";
const WEBHOOK_KEY_2 = "whk-RELIABILITY-HOOK-KEY2-zyxwvutsrq";
const KEYS_1 = addKey(undefined, "k1");
const KEYS_2 = addKey(KEYS_1, "k2"); // k2 active, k1 decrypt-only: the rotation step

const NEEDLES: Needle[] = [
  ...secretNeedles("apiKey", API_KEY),
  ...secretNeedles("apiKey 2", API_KEY_2),
  ...secretNeedles("webhookKey", WEBHOOK_KEY),
  ...secretNeedles("webhookKey 2", WEBHOOK_KEY_2),
  ...KEYS_2.keys.flatMap((jwk) => [
    ...secretNeedles(`master key k of ${jwk.kid}`, jwk.k),
    ...secretNeedles(`master key bytes of ${jwk.kid}`, jwk.k, Buffer.from(jwk.k, "base64url")),
  ]),
];

const logger = capturingLogger();
const haystacks: { where: string; text: string | Buffer }[] = [];
let app: RunningApp;

function leaks(): string[] {
  return haystacks.flatMap((h) =>
    NEEDLES.filter((n) => h.text.includes(n.text)).map((n) => `${n.label} in ${h.where}`),
  );
}

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(`${app.url}/api/accounts/${ACCOUNT}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  haystacks.push({
    where: `response to ${method} ${path} (${response.status})`,
    text: `${JSON.stringify([...response.headers])}\n${text}`,
  });
  return new Response(text, { status: response.status });
}

function captureError(where: string, error: unknown): void {
  haystacks.push({
    where: `error of ${where}`,
    text: `${(error as Error).message}\n${(error as Error).stack}\n${inspect(error, { depth: 10 })}\n${JSON.stringify(error)}`,
  });
}

function readDatabase(when: string): void {
  for (const suffix of ["", "-wal", "-shm"]) {
    const path = join(app.dataDir, `mandrill.db${suffix}`);
    if (existsSync(path))
      haystacks.push({ where: `${when}: mandrill.db${suffix}`, text: readFileSync(path) });
  }
}

beforeAll(async () => {
  app = await startApp({ logger, keys: KEYS_1 });
  const { example, sim } = app;
  const settings = {
    transport: "api" as const,
    username: "owner@example.com",
    apiKey: API_KEY,
    fromEmail: "hello@example.com",
    fromName: "Acme",
    webhookKey: WEBHOOK_KEY,
  };
  expect((await api("PUT", "/mandrill", settings)).status).toBe(201);
  expect((await api("GET", "/mandrill")).status).toBe(200);
  // Invalid saves carrying the secrets in the wrong fields: the error must not echo them.
  for (const bad of [
    { fromEmail: API_KEY },
    { replyTo: WEBHOOK_KEY },
    { port: API_KEY },
    { apiKey: [API_KEY] },
  ]) {
    expect((await api("PUT", "/mandrill", bad)).status).toBeGreaterThanOrEqual(400);
  }
  expect((await api("POST", "/test-email", { to: "someone@example.org" })).status).toBe(200);
  expect(
    (await api("POST", "/send", { to: "buyer@example.org", subject: "Receipt", text: "Thanks" })).status,
  ).toBe(200);

  // Webhooks: a valid batch, one with a bad signature (its diagnosis is logged), one over the wrong URL.
  const events = [eventFixtures.hard_bounce({ email: "bounced@example.net" }), eventFixtures.delivered({})];
  const good = signWebhook({ key: WEBHOOK_KEY, url: app.callbackUrl, events });
  const otherKey = signWebhook({ key: "whk-someone-else-0123456789", url: app.callbackUrl, events });
  const otherUrl = signWebhook({ key: WEBHOOK_KEY, url: `${app.url}/elsewhere`, events });
  for (const [what, signed] of [
    ["valid", good],
    ["other key", otherKey],
    ["other url", otherUrl],
  ] as const) {
    const r = await fetch(app.callbackUrl, { method: "POST", headers: signed.headers, body: signed.body });
    haystacks.push({ where: `webhook response (${what}, ${r.status})`, text: await r.text() });
  }
  expect((await api("POST", "/register-webhook", {})).status).toBe(200);
  expect((await api("GET", "/diagnostics")).status).toBe(200);
  await eventually(async () => (await example.store.inbox.stats(ACCOUNT)).pending === 0);
  haystacks.push({ where: "webhook diagnoses", text: JSON.stringify(example.webhooks.diagnoses(ACCOUNT)) });

  // Errors thrown by the kit to the host: a wrong key, bad settings, a rejected send.
  await example.kit.credentials.save(ACCOUNT, { ...settings, fromEmail: API_KEY }).then(
    () => expect.fail("saving an invalid fromEmail should throw"),
    (e: unknown) => captureError("save", e),
  );
  await example.sender.send(ACCOUNT, { to: [], subject: WEBHOOK_KEY }).then(
    () => expect.fail("a send without recipients should throw"),
    (e: unknown) => captureError("send", e),
  );
  await mandrillKit({ store: example.store, keys: addKey(undefined, "k1"), publicUrl: app.url })
    .credentials.get(ACCOUNT)
    .then(
      () => expect.fail("a wrong master key should not decrypt"),
      (e: unknown) => captureError("wrong key", e),
    );

  // Rotation: k2 becomes active, every secret is re-encrypted, new secrets are saved and used.
  const kit2 = mandrillKit({ store: example.store, keys: KEYS_2, publicUrl: app.url, logger });
  const report = await kit2.credentials.rotate();
  expect(report.failed).toEqual([]);
  haystacks.push({ where: "rotation report", text: JSON.stringify(report) });
  await kit2.credentials.save(ACCOUNT, { apiKey: API_KEY_2, webhookKey: WEBHOOK_KEY_2 });
  const sender2 = createSender({
    context: kit2.context,
    api: { baseUrl: sim.apiUrl },
    network: { allow: ["127.0.0.1"] }, // the local simulator
    logger,
  });
  const sent = await sender2.send(ACCOUNT, { to: "after-rotation@example.org", subject: "x", text: "x" });
  expect(sent.recipients[0]?.status).toBe("sent");
  await sender2.close();

  // The kit's own objects, as a host might log them.
  for (const [what, value] of [
    ["kit", example.kit],
    ["kit after rotation", kit2],
    ["credentials.get", await kit2.credentials.get(ACCOUNT)],
    ["credentials.describe", await kit2.credentials.describe(ACCOUNT)],
    ["sender", example.sender],
  ] as const) {
    haystacks.push({ where: `inspect(${what})`, text: inspect(value, { depth: 6, showHidden: true }) });
    haystacks.push({ where: `JSON.stringify(${what})`, text: JSON.stringify(value) ?? "" });
  }
  readDatabase("while running");
  haystacks.push({
    where: "logs",
    text: logger.entries.map((e) => `${e.level} ${e.msg} ${inspect(e.ctx, { depth: 10 })}`).join("\n"),
  });
});
afterAll(async () => {
  await app?.close();
});

describe("secrets", () => {
  it("the flow ran with everything captured (logs, responses, errors, database)", () => {
    expect(logger.entries.length).toBeGreaterThan(0);
    expect(
      haystacks.some((h) => h.where.includes("mandrill.db-wal") || h.where.endsWith("mandrill.db")),
    ).toBe(true);
    // Sanity: the scan finds a secret where one is.
    expect(NEEDLES.filter((n) => `x${API_KEY}x`.includes(n.text)).length).toBeGreaterThan(0);
    process.stdout.write(
      `[reliability] secrets: ${JSON.stringify({ needles: NEEDLES.length, haystacks: haystacks.length, logEntries: logger.entries.length, bytesScanned: haystacks.reduce((n, h) => n + h.text.length, 0) })}\n`,
    );
  });

  it("no API key, webhook key or master key (raw, base64, base64url, any alignment) appears anywhere", () => {
    expect(leaks()).toEqual([]);
  });
});
