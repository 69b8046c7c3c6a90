/**
 * Servers under test in processes of their own (`node --import tsx <entry>`), started and stopped by
 * the benchmarks: the example server (examples/server/src/main.ts) and the contenders in bench/contenders.
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { addKey } from "@mandrill-kit/credentials";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLE_DIR = fileURLToPath(new URL("../../examples/server/", import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves once it exited. */
  stop(): Promise<void>;
}

function start(
  entry: string,
  cwd: string,
  env: Record<string, string>,
  portOf: (output: string) => number | undefined,
  nodeArgs: readonly string[] = [],
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", entry], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${entry} did not start in 60 s: ${out.slice(-2000)}`));
    }, 60_000);
    const check = () => {
      const port = portOf(out);
      if (port === undefined) return;
      clearTimeout(timer);
      child.stdout?.off("data", check);
      resolve({
        child,
        pid: child.pid as number,
        port,
        output: () => out,
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
          child.kill("SIGTERM");
          await exited;
          clearTimeout(kill);
        },
      });
    };
    child.stdout?.on("data", check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited before listening: ${out.slice(-2000)}`));
    });
  });
}

/**
 * The example server (unchanged examples/server/src/main.ts) on a free port. `env` is its own
 * configuration (DATA_DIR, PUBLIC_URL, DATABASE_URL…, see examples/server/README.md); resolves once it
 * printed its start banner.
 */
export function startExampleServer(
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
  /** Another checkout of the repository to run the example server of (a baseline); default this one. */
  root?: string,
): Promise<ServerProcess> {
  return start(
    "src/main.ts",
    root === undefined ? EXAMPLE_DIR : join(root, "examples/server/"),
    { PORT: "0", ...env },
    (out) => {
      const match = /listening on port (\d+)/.exec(out);
      return match?.[1] !== undefined && out.includes(`${"=".repeat(78)}\n\n`) ? Number(match[1]) : undefined;
    },
    nodeArgs,
  );
}

/** A server in bench/contenders that prints `{ "port": N }` once listening. */
export function startContender(
  file: string,
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Promise<ServerProcess> {
  return start(
    fileURLToPath(new URL(`../contenders/${file}`, import.meta.url)),
    ROOT,
    env,
    (out) => {
      const match = /\{"port":(\d+)\}/.exec(out);
      return match?.[1] === undefined ? undefined : Number(match[1]);
    },
    nodeArgs,
  );
}

/** The load client (bench/lib/post-client.ts) in its own process, once it said it is ready. */
export async function startPostClient(): Promise<ChildProcess> {
  const client = fork(fileURLToPath(new URL("./post-client.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise<void>((resolve, reject) => {
    client.once("message", () => resolve());
    client.once("exit", (code) => reject(new Error(`the load client exited (${code})`)));
  });
  return client;
}

/** Sends one message to the load client and resolves with its answer (rejects on `{ error }`). */
export function ask<T>(client: ChildProcess, message: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    client.once("message", (m: T & { error?: string }) =>
      m.error !== undefined ? reject(new Error(m.error)) : resolve(m),
    );
    client.send(message as object);
  });
}

/** The account every benchmark posts webhooks for, its path, Callback URL and webhook key. */
export const KIT_ACCOUNT = "acme";
export const KIT_PATH = `/webhooks/mandrill/${KIT_ACCOUNT}`;
export const KIT_PUBLIC_URL = "https://hooks.example.com";
export const KIT_CALLBACK_URL = `${KIT_PUBLIC_URL}${KIT_PATH}`;
export const KIT_WEBHOOK_KEY = "whk-bench-sustained-0123456789abcdef";
const KIT_ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
// One key set for every instance, so instances sharing a PostgreSQL schema read each other's secrets.
const KIT_KEYS = JSON.stringify(addKey(undefined, "bench"));

/**
 * The example server as a host would run it against Mandrill (MANDRILL_SIMULATOR=off; nothing is sent
 * while it ingests webhooks), on SQLite in `dataDir` or on PostgreSQL (`database`). With `save`, the
 * account's settings (with the webhook key) are saved through its API once it listens.
 */
export async function startKit(options: {
  dataDir: string;
  database?: { url: string; schema: string };
  save?: boolean;
  nodeArgs?: readonly string[];
  /** Run the example server of another checkout (MK_BENCH_BASELINE_DIR). */
  root?: string;
}): Promise<ServerProcess> {
  const server = await startExampleServer(
    {
      DATA_DIR: options.dataDir,
      PUBLIC_URL: KIT_PUBLIC_URL,
      ADMIN_TOKEN: KIT_ADMIN_TOKEN,
      MANDRILL_KIT_KEYS: KIT_KEYS,
      UNSUBSCRIBE_SECRET: "bench-unsubscribe-secret-0123456789abcdef",
      MANDRILL_SIMULATOR: "off",
      MANDRILL_API_URL: "http://127.0.0.1:9/api/1.0/",
      LOG_LEVEL: "warn",
      ...(options.database === undefined
        ? {}
        : { DATABASE_URL: options.database.url, DATABASE_SCHEMA: options.database.schema }),
    },
    options.nodeArgs,
    options.root,
  );
  if (options.save === false) return server;
  try {
    const r = await fetch(`http://127.0.0.1:${server.port}/api/accounts/${KIT_ACCOUNT}/mandrill`, {
      method: "PUT",
      headers: { authorization: `Bearer ${KIT_ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        transport: "api",
        username: "ops@acme.example",
        apiKey: "md-bench-0123456789abcdef",
        fromEmail: "hello@acme.example",
        webhookKey: KIT_WEBHOOK_KEY,
      }),
    });
    if (r.status !== 200 && r.status !== 201)
      throw new Error(`saving settings answered ${r.status}: ${await r.text()}`);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
