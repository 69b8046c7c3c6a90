/**
 * Runs the quick start (src/app.ts) as a user would and walks through it: save an account's settings,
 * send, receive a signed hard-bounce webhook, see the handler run and the address suppressed. Shared by
 * the workspace test (source through tsx) and the pack test (compiled, from installed tarballs, on
 * Express 5 and 4).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { createServer } from "node:net";
import { eventually } from "@mandrill-kit/core/testing";
import { expect } from "vitest";

export const ADMIN_TOKEN = "quick-start-admin-token-0123456789";
const WEBHOOK_KEY = "quick-start-webhook-key-Q7";
const ACCOUNT = "acme";

/** A running quick start: its base URL and everything it printed. */
export interface RunningApp {
  url: string;
  output(): string;
  /** Whether the process is still running. */
  alive(): boolean;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * Starts the quick start with `command` (e.g. `[node, "dist/app.js"]`) in `cwd`, where it keeps its
 * SQLite file, with the environment its header comment asks for. Resolves once it listens.
 */
export async function startQuickStart(options: {
  command: string[];
  cwd: string;
  keys: string;
  apiUrl: string;
}): Promise<RunningApp> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const [file, ...args] = options.command;
  if (file === undefined) throw new Error("empty command");
  const child: ChildProcess = spawn(file, args, {
    cwd: options.cwd,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      MANDRILL_KIT_KEYS: options.keys,
      ADMIN_TOKEN,
      MANDRILL_API_URL: options.apiUrl,
      PORT: String(port),
      PUBLIC_URL: url,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let exited = false;
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  await eventually(() => exited || output.includes("Listening on"), {
    timeoutMs: 30_000,
    what: "the quick start listening",
  });
  if (exited) throw new Error(`the quick start exited:\n${output}`);
  return {
    url,
    output: () => output,
    alive: () => !exited,
    stop: async () => {
      if (!exited) child.kill("SIGTERM");
      await exit;
    },
  };
}

async function call(
  app: RunningApp,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` },
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${app.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed };
}

/** Posts a hard bounce for `email`, signed as Mandrill signs (HMAC-SHA1 over URL + sorted fields). */
async function postHardBounce(app: RunningApp, email: string): Promise<number> {
  const url = `${app.url}/webhooks/mandrill/${ACCOUNT}`;
  const ts = Math.floor(Date.now() / 1000);
  const events = JSON.stringify([
    {
      event: "hard_bounce",
      _id: `qs-${ts}-${email}`,
      ts,
      msg: { _id: `qs-msg-${ts}`, email, state: "bounced", bounce_description: "bad_mailbox", ts },
    },
  ]);
  const signature = createHmac("sha1", WEBHOOK_KEY).update(`${url}mandrill_events${events}`).digest("base64");
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-mandrill-signature": signature },
    body: new URLSearchParams({ mandrill_events: events }).toString(),
  });
  return response.status;
}

/** The README's flow, end to end, against a simulator holding `apiKey`. */
export async function walkThroughQuickStart(app: RunningApp, apiKey: string): Promise<void> {
  const settings = {
    transport: "api",
    username: "ops@example.com",
    apiKey,
    fromEmail: "hello@example.com",
    webhookKey: WEBHOOK_KEY,
  };
  expect((await call(app, "PUT", `/admin/email/${ACCOUNT}`, settings, {})).status).toBe(401);
  const saved = await call(app, "PUT", `/admin/email/${ACCOUNT}`, settings);
  expect(saved.status, JSON.stringify(saved.body)).toBe(201);
  expect(saved.body).toMatchObject({ callbackUrl: `${app.url}/webhooks/mandrill/${ACCOUNT}` });

  const sent = await call(app, "POST", `/accounts/${ACCOUNT}/invite`, { email: "bob@example.net" });
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  expect(sent.body).toMatchObject({ recipients: [{ email: "bob@example.net", status: "sent" }] });

  expect(await postHardBounce(app, "bob@example.net")).toBe(200);
  await eventually(() => app.output().includes("acme: bob@example.net hard-bounced"), {
    what: "the hard_bounce handler",
  });

  const again = await call(app, "POST", `/accounts/${ACCOUNT}/invite`, { email: "bob@example.net" });
  expect(again.status, JSON.stringify(again.body)).toBe(200);
  expect(again.body).toMatchObject({ recipients: [{ email: "bob@example.net", status: "suppressed" }] });

  // A send that rejects (no address) reaches Express's error handler; the process keeps serving.
  const failed = await call(app, "POST", `/accounts/${ACCOUNT}/invite`, {});
  expect(failed.status).toBeGreaterThanOrEqual(400);
  const after = await call(app, "POST", `/accounts/${ACCOUNT}/invite`, { email: "carol@example.org" });
  expect(after.body).toMatchObject({ recipients: [{ email: "carol@example.org", status: "sent" }] });
  expect(app.alive()).toBe(true);
}
