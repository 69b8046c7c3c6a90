import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "@mandrill-kit/core/testing";
import { addKey } from "@mandrill-kit/credentials";
import { type Simulator, type SimulatorOptions, startSimulator } from "@mandrill-kit/simulator";
import request from "supertest";
import { type AppOptions, createApp, type ExampleApp } from "../src/app.js";
import { createHttpServer, type HttpTimeouts } from "../src/http-server.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** The example app listening on a free port, with its own simulator and a temporary DATA_DIR. */
export interface TestApp {
  url: string;
  dataDir: string;
  example: ExampleApp;
  sim: Simulator;
  server: Server;
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * Starts the app in-process like main.ts does (listen first, then build the app with the real port),
 * on main.ts's HTTP server with its timeouts (`http` shortens them). The simulator accepts every key
 * not starting with "invalid" and mail from any From domain (none is listed as a sending domain);
 * `simulator` replaces those options (`demoSimulatorOptions()` runs it as `pnpm start` does).
 */
export async function startTestApp(
  overrides: Partial<AppOptions> & { http?: Partial<HttpTimeouts>; simulator?: SimulatorOptions } = {},
): Promise<TestApp> {
  const { http, simulator, ...appOverrides } = overrides;
  const dataDir = await mkdtemp(join(tmpdir(), "mk-example-"));
  const server = createHttpServer(http);
  const port = await listen(server);
  const url = `http://127.0.0.1:${port}`;
  const sim = await startSimulator({
    ...(simulator ?? { acceptAnyKey: (key) => !key.startsWith("invalid") }),
    flushIntervalMs: 0,
  });
  const example = createApp({
    dataDir,
    keys: addKey(undefined),
    publicUrl: url,
    adminToken: ADMIN_TOKEN,
    unsubscribeSecret: "unsubscribe-secret-for-tests-0123456789",
    mandrill: { kind: "simulator", apiUrl: sim.apiUrl, smtp: sim.smtp },
    webhookRetry: { pollIntervalMs: 50 },
    ...appOverrides,
  });
  server.on("request", example.app);
  return {
    url,
    dataDir,
    example,
    sim,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await example.close();
      await sim.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` (through core's `eventually`) until it returns a value other than `undefined`. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  let value: T | undefined;
  await eventually(
    async () => {
      value = await check();
      return value !== undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
  return value as T;
}

/** The CSRF token of the first form on a page. */
export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (match?.[1] === undefined) throw new Error("no CSRF field on the page");
  return match[1];
}

/** A browser-like agent (cookie jar) logged in through the login form, and the login POST's response. */
export async function logIn(
  url: string,
): Promise<{ agent: ReturnType<typeof request.agent>; response: request.Response }> {
  const agent = request.agent(url);
  const page = await agent.get("/login");
  const response = await agent
    .post("/login")
    .type("form")
    .send({ token: ADMIN_TOKEN, _csrf: csrfOf(page.text) });
  return { agent, response };
}

/** A logged-in agent and the CSRF token of its accounts page; throws when the login is not accepted. */
export async function logInWithCsrf(
  url: string,
): Promise<{ agent: ReturnType<typeof request.agent>; csrf: string }> {
  const { agent, response } = await logIn(url);
  if (response.status !== 303) throw new Error(`the login answered ${response.status}, not 303`);
  const accounts = await agent.get("/accounts");
  return { agent, csrf: csrfOf(accounts.text) };
}

/** The settings form of an SMTP account on the demo's verified domain, as the browser posts it. */
export function demoSettingsForm(csrf: string, apiKey: string, extra: Record<string, string> = {}) {
  return {
    _csrf: csrf,
    transport: "smtp",
    host: "smtp.mandrillapp.com",
    port: "587",
    username: "ops@acme.example",
    apiKey,
    fromEmail: "hello@acme.example",
    fromName: "Acme",
    unsubscribeMode: "mandrill",
    ...extra,
  };
}
