import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { addKey, parseKeySet } from "@mandrill-kit/credentials";
import { DEFAULT_HTTP_TIMEOUTS, type HttpTimeouts } from "./http-server.js";
import { DEFAULT_RATE_LIMITS, type LimitOptions, type RateLimits } from "./security/rate-limit.js";

/** Everything the example server reads from the environment, resolved (see the README's table). */
export interface ServerConfig {
  /** `PORT` (0 = any free port). @default 3000 */
  port: number;
  /** `DATA_DIR`, absolute. @default "./data" */
  dataDir: string;
  /** `DATABASE_URL` (`postgres://…`): share state through PostgreSQL; `undefined` means SQLite in `DATA_DIR`. */
  databaseUrl: string | undefined;
  /** `DATABASE_SCHEMA`: the PostgreSQL schema holding the tables (with `DATABASE_URL`). @default "mandrill_kit" */
  databaseSchema: string;
  /** `PUBLIC_URL`; `undefined` means `http://localhost:<the port actually listened on>`. */
  publicUrl: string | undefined;
  /** `MANDRILL_KIT_KEYS`, or the development key set kept in `DATA_DIR/keys.json`. */
  keys: string;
  /** Where the key set came from. */
  keysSource: "env" | "generated" | "data-dir";
  /** `ADMIN_TOKEN`, or a random one made at start (printed). */
  adminToken: string;
  adminTokenGenerated: boolean;
  /** `MANDRILL_SIMULATOR` (default on): talk to the in-process simulator instead of Mandrill. */
  simulator: boolean;
  /** `MANDRILL_API_URL`, used when the simulator is off. @default "https://mandrillapp.com/api/1.0/" */
  apiUrl: string;
  /** `UNSUBSCRIBE_SECRET`, or one generated once into `DATA_DIR/unsubscribe-secret`. */
  unsubscribeSecret: string;
  /**
   * `TRUST_PROXY`: Express's "trust proxy" for client addresses behind a reverse proxy: a hop count or
   * the proxies' addresses/subnets. `false` when unset; "trust every hop" is refused.
   */
  trustProxy: false | number | string[];
  /** `RATE_LIMIT_*`: the request limits (`count/window`, e.g. `10/15m`). */
  rateLimits: RateLimits;
  /** `HTTP_*_TIMEOUT_MS`: how long a client may take to send its request, its headers, or stay idle. */
  http: HttpTimeouts;
  /** `LOG_LEVEL`. @default "info" */
  logLevel: "debug" | "info" | "warn" | "error";
  /** `METRICS_TOKEN`: reads `/metrics` without the admin token (≥ 16 characters); unset: admin token only. */
  metricsToken: string | undefined;
  /** `METRICS_PER_ACCOUNT` (default off): the account id as a metric attribute (one series per account). */
  metricsPerAccount: boolean;
  /** Where spans go (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`); unset: no tracing. */
  traces: { url: string; serviceName: string } | undefined;
  /** Lines to print loudly at start (development-only keys, generated token…). */
  notices: string[];
}

/** A configuration problem, worded for the person starting the server. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const DEFAULT_API_URL = "https://mandrillapp.com/api/1.0/";

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return 3000;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) > 65535) {
    throw new ConfigError(`PORT must be a whole number from 0 to 65535; got ${JSON.stringify(raw)}.`);
  }
  return Number(raw);
}

function parseUrl(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(
      `${name} must be an absolute http(s) URL such as https://app.example.com; got ${JSON.stringify(raw)}.`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${name} must use http or https; got ${JSON.stringify(raw)}.`);
  }
  return raw.trim();
}

function parseSwitch(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw.trim() === "") return fallback;
  const v = raw.trim().toLowerCase();
  if (["on", "true", "1", "yes"].includes(v)) return true;
  if (["off", "false", "0", "no"].includes(v)) return false;
  throw new ConfigError(`${name} must be "on" or "off"; got ${JSON.stringify(raw)}.`);
}

const PROXY_NAMES = ["loopback", "linklocal", "uniquelocal"];

function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.includes(entry)) return true;
  const [address = "", prefix, extra] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function parseTrustProxy(raw: string | undefined): false | number | string[] {
  const v = raw?.trim().toLowerCase() ?? "";
  if (["", "off", "false", "no", "0"].includes(v)) return false;
  if (/^\d+$/.test(v)) return Number(v);
  if (["on", "true", "yes", "all", "*"].includes(v)) {
    throw new ConfigError(
      `TRUST_PROXY=${raw?.trim()} would trust every hop, so any client could choose its own address (X-Forwarded-For) and escape the rate limits. Set the number of proxies in front of this server (e.g. TRUST_PROXY=1) or their addresses (e.g. TRUST_PROXY=loopback,10.0.0.0/8).`,
    );
  }
  const entries = v.split(",").map((e) => e.trim());
  const bad = entries.find((e) => !isProxyAddress(e));
  if (bad !== undefined) {
    throw new ConfigError(
      `TRUST_PROXY must be a hop count or a comma-separated list of proxy addresses, subnets (10.0.0.0/8) or loopback, linklocal, uniquelocal; ${JSON.stringify(bad)} is none of these.`,
    );
  }
  return entries;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

function parseLimit(name: string, raw: string | undefined, fallback: LimitOptions): LimitOptions {
  if (raw === undefined || raw.trim() === "") return fallback;
  const match = /^(\d+)\s*\/\s*(\d*)\s*([smh])$/.exec(raw.trim());
  if (match === null || Number(match[1]) < 1 || match[2] === "0") {
    throw new ConfigError(
      `${name} must be a count per window such as 10/15m (s, m or h); got ${JSON.stringify(raw)}.`,
    );
  }
  return { limit: Number(match[1]), windowMs: Number(match[2] || 1) * (UNITS[match[3] as string] as number) };
}

/** The variable of each limit. */
const LIMIT_VARIABLES: Record<keyof RateLimits, string> = {
  authFailures: "RATE_LIMIT_AUTH_FAILURES",
  testEmail: "RATE_LIMIT_TEST_EMAIL",
  testEmailRecipient: "RATE_LIMIT_TEST_EMAIL_RECIPIENT",
  send: "RATE_LIMIT_SEND",
};

function parseRateLimits(env: NodeJS.ProcessEnv): RateLimits {
  const limits = { ...DEFAULT_RATE_LIMITS };
  for (const [key, name] of Object.entries(LIMIT_VARIABLES) as [keyof RateLimits, string][]) {
    limits[key] = parseLimit(name, env[name], DEFAULT_RATE_LIMITS[key]);
  }
  return limits;
}

function parseMs(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) {
    throw new ConfigError(
      `${name} must be a positive whole number of milliseconds; got ${JSON.stringify(raw)}.`,
    );
  }
  return Number(raw);
}

/** The variable of each HTTP timeout. */
const TIMEOUT_VARIABLES: Record<keyof HttpTimeouts, string> = {
  requestTimeoutMs: "HTTP_REQUEST_TIMEOUT_MS",
  headersTimeoutMs: "HTTP_HEADERS_TIMEOUT_MS",
  keepAliveTimeoutMs: "HTTP_KEEP_ALIVE_TIMEOUT_MS",
};

function parseHttpTimeouts(env: NodeJS.ProcessEnv): HttpTimeouts {
  const timeouts = { ...DEFAULT_HTTP_TIMEOUTS };
  for (const [key, name] of Object.entries(TIMEOUT_VARIABLES) as [keyof HttpTimeouts, string][]) {
    timeouts[key] = parseMs(name, env[name], DEFAULT_HTTP_TIMEOUTS[key]);
  }
  return timeouts;
}

function parseLogLevel(raw: string | undefined): ServerConfig["logLevel"] {
  const v = (raw ?? "info").trim().toLowerCase();
  if (v === "debug" || v === "info" || v === "warn" || v === "error") return v;
  throw new ConfigError(`LOG_LEVEL must be debug, info, warn or error; got ${JSON.stringify(raw)}.`);
}

/**
 * Reads a secret file of DATA_DIR, or `undefined` when there is none. A file other users can read or
 * write is refused: its secret would be theirs too.
 */
async function readPrivate(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const mode = (await stat(path)).mode & 0o777;
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    throw new ConfigError(
      `${path} holds a secret but other users of this machine can access it (mode 0${mode.toString(8)}). Run \`chmod 600 ${path}\`, then start again.`,
    );
  }
  return text;
}

/** Writes a file only readable by this user (0600), failing if it already exists. */
async function writePrivate(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600, flag: "wx" });
  await chmod(path, 0o600);
}

async function loadKeys(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  notices: string[],
): Promise<Pick<ServerConfig, "keys" | "keysSource">> {
  let keys: string;
  let keysSource: ServerConfig["keysSource"];
  if (env.MANDRILL_KIT_KEYS !== undefined && env.MANDRILL_KIT_KEYS.trim() !== "") {
    keys = env.MANDRILL_KIT_KEYS;
    keysSource = "env";
  } else {
    const file = join(dataDir, "keys.json");
    const existing = await readPrivate(file);
    if (existing === undefined) {
      keys = `${JSON.stringify(addKey(undefined), null, 2)}\n`;
      await writePrivate(file, keys);
      keysSource = "generated";
    } else {
      keys = existing;
      keysSource = "data-dir";
    }
    notices.push(
      `DEVELOPMENT ONLY: MANDRILL_KIT_KEYS is not set, so the encryption keys are ${keysSource === "generated" ? "generated into" : "read from"} ${file}.`,
      "  Anyone with that file and the database can read every saved API key. In production, set",
      "  MANDRILL_KIT_KEYS from a secret manager (`pnpm mandrill-kit keys generate`) and keep it out of DATA_DIR.",
    );
  }
  // Fail at start, naming the problem, rather than at the first save.
  try {
    parseKeySet(keys);
  } catch (error) {
    throw new ConfigError(`MANDRILL_KIT_KEYS is not a usable key set: ${(error as Error).message}`);
  }
  return { keys, keysSource };
}

function loadAdminToken(
  env: NodeJS.ProcessEnv,
  notices: string[],
): Pick<ServerConfig, "adminToken" | "adminTokenGenerated"> {
  const adminToken = env.ADMIN_TOKEN?.trim() ?? "";
  if (adminToken === "") {
    notices.push(
      "ADMIN_TOKEN is not set: a token was generated for this run (the Admin token line above); it changes at every start.",
    );
    return { adminToken: randomBytes(24).toString("base64url"), adminTokenGenerated: true };
  }
  if (adminToken.length < 16) {
    throw new ConfigError("ADMIN_TOKEN must be at least 16 characters long (use a random value).");
  }
  return { adminToken, adminTokenGenerated: false };
}

async function loadUnsubscribeSecret(env: NodeJS.ProcessEnv, dataDir: string): Promise<string> {
  const fromEnv = env.UNSUBSCRIBE_SECRET?.trim() ?? "";
  if (fromEnv !== "") {
    if (fromEnv.length < 32) {
      throw new ConfigError("UNSUBSCRIBE_SECRET must be at least 32 characters long (use a random value).");
    }
    return fromEnv;
  }
  const file = join(dataDir, "unsubscribe-secret");
  const existing = (await readPrivate(file))?.trim();
  if (existing !== undefined && existing !== "") return existing;
  const secret = randomBytes(32).toString("base64url");
  await writePrivate(file, `${secret}\n`);
  return secret;
}

/**
 * Maps the environment to the server's configuration. Missing secrets are generated for development:
 * the key set and the unsubscribe secret are kept in `DATA_DIR` (mode 0600) so saved settings stay
 * readable across restarts; the admin token is made fresh at each start and printed.
 */
export async function loadConfig(env: NodeJS.ProcessEnv = process.env): Promise<ServerConfig> {
  const notices: string[] = [];
  const port = parsePort(env.PORT);
  const dataDir = resolve(env.DATA_DIR?.trim() || "./data");
  const publicUrl = parseUrl("PUBLIC_URL", env.PUBLIC_URL);
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      "DATABASE_URL must be a postgres:// or postgresql:// URL such as postgres://user:password@127.0.0.1:5432/app; leave it unset to use SQLite in DATA_DIR.",
    );
  }
  const simulator = parseSwitch("MANDRILL_SIMULATOR", env.MANDRILL_SIMULATOR, true);
  const apiUrl = parseUrl("MANDRILL_API_URL", env.MANDRILL_API_URL) ?? DEFAULT_API_URL;
  // Everything that only reads the environment first: a typo fails before any file is written.
  const trustProxy = parseTrustProxy(env.TRUST_PROXY);
  const rateLimits = parseRateLimits(env);
  const http = parseHttpTimeouts(env);
  const logLevel = parseLogLevel(env.LOG_LEVEL);
  const metricsToken = env.METRICS_TOKEN?.trim() || undefined;
  if (metricsToken !== undefined && metricsToken.length < 16)
    throw new ConfigError("METRICS_TOKEN must be at least 16 characters long (use a random value).");
  const metricsPerAccount = parseSwitch("METRICS_PER_ACCOUNT", env.METRICS_PER_ACCOUNT, false);
  const traces = parseTraces(env);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const keys = await loadKeys(env, dataDir, notices);
  const admin = loadAdminToken(env, notices);
  const unsubscribeSecret = await loadUnsubscribeSecret(env, dataDir);
  if (simulator && env.MANDRILL_API_URL !== undefined && env.MANDRILL_API_URL.trim() !== "") {
    notices.push("MANDRILL_API_URL is ignored while MANDRILL_SIMULATOR is on (set MANDRILL_SIMULATOR=off).");
  }
  return {
    port,
    dataDir,
    databaseUrl,
    databaseSchema: env.DATABASE_SCHEMA?.trim() || "mandrill_kit",
    publicUrl,
    ...keys,
    ...admin,
    simulator,
    apiUrl,
    unsubscribeSecret,
    trustProxy,
    rateLimits,
    http,
    logLevel,
    metricsToken,
    metricsPerAccount,
    traces,
    notices,
  };
}

/**
 * The OTLP/HTTP traces URL, from the OpenTelemetry variables' own rules: the signal-specific
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as given; the base `OTEL_EXPORTER_OTLP_ENDPOINT` gets
 * `/v1/traces` appended. Neither set: tracing stays off.
 */
export function parseTraces(env: NodeJS.ProcessEnv): ServerConfig["traces"] {
  const own = parseUrl("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const base = parseUrl("OTEL_EXPORTER_OTLP_ENDPOINT", env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const url = own ?? (base === undefined ? undefined : `${base.replace(/\/+$/, "")}/v1/traces`);
  if (url === undefined) return undefined;
  return { url, serviceName: env.OTEL_SERVICE_NAME?.trim() || "mandrill-kit-example" };
}
