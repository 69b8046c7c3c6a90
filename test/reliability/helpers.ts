import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Logger } from "@mandrill-kit/core";
import { eventually as coreEventually, type Needle, secretNeedles } from "@mandrill-kit/core/testing";
import { addKey, type JwkSet } from "@mandrill-kit/credentials";
import { build } from "esbuild";
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

const UNLIMITED = { limit: 1_000_000_000, windowMs: 1000 };

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
    // The scenarios drive the API hard from one address; the request limits are not under test here.
    rateLimits: {
      authFailures: UNLIMITED,
      testEmail: UNLIMITED,
      testEmailRecipient: UNLIMITED,
      send: UNLIMITED,
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

/** `eventually` with the longer default this suite's loaded machine needs (15 s). */
export const eventually = (probe: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> =>
  coreEventually(probe, timeoutMs);

/** A child process whose output is kept (for start lines, JSON lines and failure messages). */
export interface TrackedChild {
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

const children = new Set<ChildProcess>();

/** Keeps a child's stdout and stderr, and remembers it until it exits (see {@link killChildren}). */
export function track(child: ChildProcess): TrackedChild {
  children.add(child);
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { out: () => out, err: () => err, exited };
}

/** SIGKILLs every tracked child still running (afterAll: nothing outlives a failed scenario). */
export function killChildren(): void {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
}

const serverDir = fileURLToPath(new URL("../../examples/server/", import.meta.url));

/** The example server in a process of its own. */
export interface ServerProcess extends TrackedChild {
  child: ChildProcess;
  port: number;
  /** `http://127.0.0.1:<port>`. */
  url: string;
}

/** Where and how the example server runs (see {@link spawnServer}). */
export interface ServerOptions {
  dataDir: string;
  publicUrl: string;
  env?: Record<string, string>;
  entry?: string;
  nodeArgs?: string[];
}

function launch(options: ServerOptions, args: string[], stdin: "ignore" | "pipe"): ChildProcess {
  return spawn(process.execPath, [...(options.nodeArgs ?? []), ...args], {
    cwd: serverDir,
    env: {
      ...process.env,
      DATA_DIR: options.dataDir,
      PORT: "0",
      PUBLIC_URL: options.publicUrl,
      ADMIN_TOKEN,
      MANDRILL_KIT_KEYS: "",
      LOG_LEVEL: "warn",
      ...options.env,
    },
    stdio: [stdin, "pipe", "pipe"],
  });
}

/** Resolves with the port once the server printed its start banner. */
function started(child: ChildProcess, t: TrackedChild): Promise<ServerProcess> {
  return new Promise<ServerProcess>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start line: ${t.out()} ${t.err()}`)), 30_000);
    const check = () => {
      const match = /listening on port (\d+)/.exec(t.out());
      if (match?.[1] !== undefined && t.out().includes(`${"=".repeat(78)}\n\n`)) {
        clearTimeout(timer);
        const port = Number(match[1]);
        resolve({ child, port, url: `http://127.0.0.1:${port}`, ...t });
      }
    };
    child.stdout?.on("data", check);
    check();
    void t.exited.then(() => reject(new Error(`server exited early: ${t.err()}`)));
  });
}

/**
 * Starts the example server (examples/server/src/main.ts, or `entry` — a fixture that imports it) with
 * `node --import tsx` on a free port, and resolves once it prints its start banner. The environment is
 * the server's own configuration (see examples/server/src/config.ts): DATA_DIR, PUBLIC_URL, the
 * reliability admin token, the development key set kept in DATA_DIR, LOG_LEVEL=warn, plus `env`.
 */
export function spawnServer(options: ServerOptions): Promise<ServerProcess> {
  const child = launch(options, ["--import", "tsx", options.entry ?? "src/main.ts"], "ignore");
  return started(child, track(child));
}

const WARM_ENTRY = fileURLToPath(new URL("./fixtures/warm-server.ts", import.meta.url));

/**
 * Bundles the example server (fixtures/warm-server.ts, which runs examples/server/src/main.ts) and the
 * workspace sources it imports into `dir`/server.mjs with esbuild; packages from node_modules stay
 * imports of their installed files, and `import.meta.url` keeps naming each source file (the server
 * finds its static/ folder by it). Node then loads one file instead of tsx compiling every module at
 * each start: half the CPU time of a start (measured 2.0 s against 4.3 s).
 */
export async function bundleServer(dir: string): Promise<string> {
  const outfile = join(dir, "server.mjs");
  await build({
    entryPoints: [WARM_ENTRY],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Resolve installed packages as Node does: without the bundler-only "module" condition (which
    // esbuild adds by default), @opentelemetry/api resolves to an ESM build Node cannot load.
    conditions: ["node"],
    logLevel: "error",
    plugins: [
      {
        name: "installed-packages-and-source-urls",
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, async (args) => {
            if (args.path.startsWith("@mandrill-kit/") || args.pluginData === "inner") return undefined;
            const { resolveDir, importer, kind } = args;
            const r = await b.resolve(args.path, { resolveDir, importer, kind, pluginData: "inner" });
            return r.errors.length > 0 ? { errors: r.errors } : { path: r.path, external: true };
          });
          b.onLoad({ filter: /\.ts$/ }, async (args) => ({
            contents: (await readFile(args.path, "utf8")).replaceAll(
              "import.meta.url",
              JSON.stringify(pathToFileURL(args.path).href),
            ),
            loader: "ts",
          }));
        },
      },
    ],
  });
  return outfile;
}

/** An example server process that has loaded its modules and waits for {@link PreparedServer.start}. */
export interface PreparedServer {
  /** Resolves once the process has loaded the server's modules. */
  loaded: Promise<void>;
  /** Starts it (configuration, DATA_DIR, listening) and resolves once it printed its start banner. */
  start(): Promise<ServerProcess>;
}

/**
 * Like {@link spawnServer}, in two steps, from a {@link bundleServer} bundle: the process starts now and
 * loads the server's modules, and runs examples/server/src/main.ts — reads its configuration, opens
 * DATA_DIR, listens — only on `start()`. A scenario that restarts the server again and again prepares
 * the next process while the current one is under load.
 */
export function prepareServer(bundle: string, options: Omit<ServerOptions, "entry">): PreparedServer {
  const child = launch(options, [bundle], "pipe");
  const t = track(child);
  const loaded = new Promise<void>((resolve, reject) => {
    const check = () => {
      if (t.out().includes("loaded\n")) resolve();
    };
    child.stdout?.on("data", check);
    void t.exited.then(() => reject(new Error(`prepared server exited: ${t.err()}`)));
  });
  loaded.catch(() => {});
  return {
    loaded,
    start() {
      child.stdin?.write("start\n");
      return started(child, t);
    },
  };
}

/**
 * A process's resident set in MiB: from /proc/<pid>/status on Linux (with its split); elsewhere (macOS,
 * the BSDs) from `ps -o rss=`, the resident set only (the split fields are NaN).
 */
export interface ProcMemory {
  /** VmRSS: the resident set. */
  rss: number;
  /** RssAnon: anonymous memory (JS heap, malloc, native buffers). */
  anon: number;
  /** RssFile: file-backed pages (code, mapped files). */
  file: number;
  /** RssShmem: shared memory (e.g. SQLite's WAL index, the -shm file). */
  shmem: number;
  /** VmHWM: the peak resident set so far. */
  hwm: number;
}

/** Reads /proc/<pid>/status, or asks `ps` where there is no /proc; `undefined` when the process is gone. */
export function procMemory(pid: number | "self"): ProcMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return psMemory(pid === "self" ? process.pid : pid);
  }
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return match?.[1] === undefined ? Number.NaN : Number(match[1]) / 1024;
  };
  return {
    rss: kib("VmRSS"),
    anon: kib("RssAnon"),
    file: kib("RssFile"),
    shmem: kib("RssShmem"),
    hwm: kib("VmHWM"),
  };
}

function psMemory(pid: number): ProcMemory | undefined {
  let out: string;
  try {
    out = execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" });
  } catch {
    return undefined;
  }
  const kib = Number(out.trim());
  if (!Number.isFinite(kib) || out.trim() === "") return undefined;
  return { rss: kib / 1024, anon: Number.NaN, file: Number.NaN, shmem: Number.NaN, hwm: Number.NaN };
}

/** A secret to look for, under a label saying which encoding it is. */

export { type Needle, secretNeedles };

/** Bytes as whole MiB. */
export const mib = (bytes: number): number => Math.round(bytes / 1048576);

/** A memory reading in whole MiB, for figures. */
export const roundMemory = (m: ProcMemory) => ({
  rss: Math.round(m.rss),
  anon: Math.round(m.anon),
  file: Math.round(m.file),
  shmem: Math.round(m.shmem),
});

/** The median of some numbers (robust to one sample taken in a burst of garbage). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The example server started through fixtures/soak-server.ts, whose SIGUSR2 probe reports memory. */
export const MEMORY_PROBE_ENTRY = fileURLToPath(new URL("./fixtures/soak-server.ts", import.meta.url));

/**
 * Has a server started from {@link MEMORY_PROBE_ENTRY} (with --expose-gc) collect its garbage and report
 * its heap, then reads its resident set: a reading of memory kept, not of garbage not yet collected.
 */
export async function probeMemory(
  server: ServerProcess,
): Promise<{ heap: NodeJS.MemoryUsage & { gc: boolean }; proc: ProcMemory }> {
  const from = server.out().length;
  server.child.kill("SIGUSR2");
  let line: string | undefined;
  await eventually(() => {
    line = server
      .out()
      .slice(from)
      .split("\n")
      .find((l) => l.startsWith('{"memoryProbe"'));
    return line !== undefined;
  }, 10_000);
  const heap = (JSON.parse(line as string) as { memoryProbe: NodeJS.MemoryUsage & { gc: boolean } })
    .memoryProbe;
  const proc = procMemory(server.child.pid as number);
  if (proc === undefined) throw new Error("could not read the server's memory (/proc or ps)");
  return { heap, proc };
}

/**
 * {@link probeMemory} until the resident set settles: probes (each after a forced GC) `intervalMs`
 * apart until two in a row differ by at most `toleranceMiB`, at most `maxProbes` times. Right after a
 * load, pages the collector freed are returned to the system over the next seconds, so a single probe
 * can read a resident set still on its way down. Returns the last probe and how many it took.
 */
export async function settledMemory(
  server: ServerProcess,
  { toleranceMiB = 2, maxProbes = 10, intervalMs = 1_000 } = {},
): Promise<Awaited<ReturnType<typeof probeMemory>> & { probes: number; settled: boolean }> {
  let last = await probeMemory(server);
  for (let probes = 2; probes <= maxProbes; probes++) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const next = await probeMemory(server);
    const settled = Math.abs(next.proc.rss - last.proc.rss) <= toleranceMiB;
    last = next;
    if (settled) return { ...last, probes, settled };
  }
  return { ...last, probes: maxProbes, settled: false };
}
