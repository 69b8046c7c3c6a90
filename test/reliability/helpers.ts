import type { Logger } from "@mandrill-kit/core";
import { type Needle, secretNeedles } from "@mandrill-kit/core/testing";
import { addKey, type JwkSet } from "@mandrill-kit/credentials";
import type { AppOptions } from "../../examples/server/src/app.js";
import { startTestApp, type TestApp } from "../../examples/server/test/helpers.js";

export const ADMIN_TOKEN = "reliability-admin-token-0123456789";
export const UNSUBSCRIBE_SECRET = "reliability-unsubscribe-secret-0123456789";
export const ACCOUNT = "acme";
/** An API key the simulator accepts (any key not starting with "invalid"). */
export const API_KEY = "md-RELIABILITY-API-KEY-0123456789";
export const WEBHOOK_KEY = "whk-RELIABILITY-HOOK-KEY-abcdefghij";

/** One captured log entry. */
export interface LogEntry {
  level: string;
  ctx: unknown;
  msg: string;
}

/** A logger that keeps every entry (debug included), for scans and for "no error was logged". */
export function capturingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: string) =>
    (ctx: unknown, msg?: string): void => {
      entries.push({ level, ctx, msg: msg ?? "" });
    };
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } as Logger & {
    entries: LogEntry[];
  };
}

/** The example app listening on a free port, with its own simulator (the example's own test harness). */
export interface RunningApp extends TestApp {
  callbackUrl: string;
  keys: JwkSet;
}

/** Starts the example app in-process (see examples/server/test/helpers.ts), tuned for load from one client. */
export async function startApp(overrides: Partial<AppOptions> & { keys?: JwkSet } = {}): Promise<RunningApp> {
  const keys = overrides.keys ?? addKey(undefined, "reliability");
  const app = await startTestApp({
    adminToken: ADMIN_TOKEN,
    unsubscribeSecret: UNSUBSCRIBE_SECRET,
    webhookRetry: { pollIntervalMs: 20 },
    // The scenarios drive the API hard from one address; the login/test-email limits are not under test.
    rateLimits: {
      login: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
      testEmail: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
    },
    ...overrides,
    keys,
  });
  // Thousands of requests from one client: keep sockets for reuse instead of piling up TIME_WAITs.
  app.server.keepAliveTimeout = 5_000;
  return { ...app, keys, callbackUrl: `${app.url}/webhooks/mandrill/${ACCOUNT}` };
}

/** Saves API-transport settings with a webhook key through the example's JSON API. */
export async function saveSettings(
  url: string,
  account = ACCOUNT,
  extra: Record<string, unknown> = {},
): Promise<Response> {
  const response = await fetch(`${url}/api/accounts/${account}/mandrill`, {
    method: "PUT",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({
      transport: "api",
      username: "owner@example.com",
      apiKey: API_KEY,
      fromEmail: "hello@example.com",
      fromName: "Acme",
      webhookKey: WEBHOOK_KEY,
      ...extra,
    }),
  });
  if (response.status !== 200 && response.status !== 201) {
    throw new Error(`saving settings answered ${response.status}: ${await response.text()}`);
  }
  return response;
}

/** Polls `check` until it holds (bounded). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resident set size in MiB. */
export function rssMiB(): number {
  return process.memoryUsage().rss / 1024 / 1024;
}

/** A secret to look for, under a label saying which encoding it is. */

export { type Needle, secretNeedles };
