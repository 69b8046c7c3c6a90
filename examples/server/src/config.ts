import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { addKey, parseKeySet } from "@mandrill-kit/credentials";

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
  /** `TRUST_PROXY`: Express's "trust proxy" setting (hop count or `true`), for client IPs behind a proxy. */
  trustProxy: boolean | number;
  /** `LOG_LEVEL`. @default "info" */
  logLevel: "debug" | "info" | "warn" | "error";
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

function parseTrustProxy(raw: string | undefined): boolean | number {
  if (raw === undefined || raw.trim() === "") return false;
  if (/^\d+$/.test(raw.trim())) return Number(raw);
  return parseSwitch("TRUST_PROXY", raw, false);
}

function parseLogLevel(raw: string | undefined): ServerConfig["logLevel"] {
  const v = (raw ?? "info").trim().toLowerCase();
  if (v === "debug" || v === "info" || v === "warn" || v === "error") return v;
  throw new ConfigError(`LOG_LEVEL must be debug, info, warn or error; got ${JSON.stringify(raw)}.`);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Writes a file only readable by this user (0600), failing if it already exists. */
async function writePrivate(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600, flag: "wx" });
  await chmod(path, 0o600);
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
  await mkdir(dataDir, { recursive: true, mode: 0o700 });

  let keys: string;
  let keysSource: ServerConfig["keysSource"];
  if (env.MANDRILL_KIT_KEYS !== undefined && env.MANDRILL_KIT_KEYS.trim() !== "") {
    keys = env.MANDRILL_KIT_KEYS;
    keysSource = "env";
  } else {
    const file = join(dataDir, "keys.json");
    const existing = await readIfExists(file);
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

  let adminToken = env.ADMIN_TOKEN?.trim() ?? "";
  const adminTokenGenerated = adminToken === "";
  if (adminTokenGenerated) {
    adminToken = randomBytes(24).toString("base64url");
    notices.push(
      "ADMIN_TOKEN is not set: a token was generated for this run (the Admin token line above); it changes at every start.",
    );
  } else if (adminToken.length < 16) {
    throw new ConfigError("ADMIN_TOKEN must be at least 16 characters long (use a random value).");
  }

  let unsubscribeSecret = env.UNSUBSCRIBE_SECRET?.trim() ?? "";
  if (unsubscribeSecret === "") {
    const file = join(dataDir, "unsubscribe-secret");
    const existing = (await readIfExists(file))?.trim();
    if (existing === undefined || existing === "") {
      unsubscribeSecret = randomBytes(32).toString("base64url");
      await writePrivate(file, `${unsubscribeSecret}\n`);
    } else {
      unsubscribeSecret = existing;
    }
  } else if (unsubscribeSecret.length < 32) {
    throw new ConfigError("UNSUBSCRIBE_SECRET must be at least 32 characters long (use a random value).");
  }

  if (simulator && env.MANDRILL_API_URL !== undefined && env.MANDRILL_API_URL.trim() !== "") {
    notices.push("MANDRILL_API_URL is ignored while MANDRILL_SIMULATOR is on (set MANDRILL_SIMULATOR=off).");
  }

  return {
    port,
    dataDir,
    databaseUrl,
    databaseSchema: env.DATABASE_SCHEMA?.trim() || "mandrill_kit",
    publicUrl,
    keys,
    keysSource,
    adminToken,
    adminTokenGenerated,
    simulator,
    apiUrl,
    unsubscribeSecret,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    logLevel: parseLogLevel(env.LOG_LEVEL),
    notices,
  };
}
