import {
  type Clock,
  type Logger,
  MandrillKitConfigError,
  type NetworkPolicyOptions,
  type Store,
  silentLogger,
  systemClock,
} from "@mandrill-kit/core";
import { checkOptions, type NetworkPolicy, resolveNetworkPolicy } from "@mandrill-kit/core/plugin";
import { checkKeySet } from "./key-ring.js";
import { DEFAULT_CACHE_MAX_ENTRIES } from "./settings-cache.js";

/** Options of {@link createCredentials}. */
export interface CredentialsOptions {
  /** Where the encrypted records live. */
  store: Store;
  /**
   * The JWK Set of 256-bit `oct` keys, as JSON text or object (`mandrill-kit keys generate` makes
   * one). Map it from an environment variable or a file in the host; never commit it.
   */
  keys: string | object;
  /** Which key encrypts; the others only decrypt. @default the first key of the set */
  activeKid?: string;
  /** Public base URL of the host app as Mandrill reaches it, e.g. `"https://app.example.com"`. */
  publicUrl: string;
  /** Path of the webhook route; `:account` is replaced by the account id. @default "/webhooks/mandrill/:account" */
  webhookPath?: string;
  /**
   * How long decrypted settings stay cached in this process. Saves, deletes and rotations through
   * this instance invalidate at once; the TTL bounds how long another instance's change goes unseen.
   * `0` disables the cache. @default 30000
   */
  cacheTtlMs?: number;
  /**
   * At most this many accounts' settings are cached (least recently used dropped first). Webhook
   * requests name any account id without authentication, so the cache is bounded; an account that
   * has no settings is remembered for at most 5 s. @default 10000
   */
  cacheMaxEntries?: number;
  /**
   * Where the service reads the time: cache expiry and the `createdAt` / `updatedAt` / `addedAt`
   * stamps of saves. Tests pass `manualClock()` from `@mandrill-kit/core/testing`.
   * @default systemClock
   */
  clock?: Clock;
  /** @default silentLogger */
  logger?: Logger;
  /**
   * Where saved SMTP hosts and ports may point: private/loopback hosts and ports other than
   * Mandrill's are refused at save (422). Pass the sender's `network` policy. @default public hosts only
   */
  network?: NetworkPolicyOptions;
}

/** The option names of {@link CredentialsOptions}; `mandrillKit()` accepts these and its own. */
export const CREDENTIALS_OPTION_NAMES = [
  "store",
  "keys",
  "activeKid",
  "publicUrl",
  "webhookPath",
  "cacheTtlMs",
  "cacheMaxEntries",
  "clock",
  "logger",
  "network",
] as const;

/** {@link CredentialsOptions} checked, with defaults applied. */
export interface ResolvedCredentialsOptions {
  store: Store;
  /** The key set and the kid that encrypts, checked (not yet imported). */
  keys: ReturnType<typeof checkKeySet>;
  /** Without a trailing slash; otherwise exactly as given (the Callback URL is never re-serialised). */
  publicUrl: string;
  webhookPath: string;
  cacheTtlMs: number;
  cacheMaxEntries: number;
  clock: Clock;
  logger: Logger;
  network: NetworkPolicy;
}

const DEFAULT_WEBHOOK_PATH = "/webhooks/mandrill/:account";

function show(value: unknown): string {
  if (typeof value === "function") return "a function";
  if (value === undefined) return "undefined";
  return JSON.stringify(value) ?? String(value);
}

function invalid(option: string, message: string): MandrillKitConfigError {
  return new MandrillKitConfigError("ERR_MK_CONFIG_INVALID", option, message);
}

function resolveStore(factory: string, store: unknown): Store {
  if (
    store === null ||
    typeof store !== "object" ||
    typeof (store as Partial<Store>).credentials?.get !== "function"
  ) {
    throw invalid(
      "store",
      `${factory}() needs store: a mandrill-kit Store, e.g. openSqliteStore({ filename }); received ${store === undefined ? "none" : typeof store === "object" ? "an object that is not a Store" : show(store)}.`,
    );
  }
  return store as Store;
}

function resolveUrl(factory: string, publicUrl: unknown): string {
  if (typeof publicUrl !== "string") {
    throw invalid(
      "publicUrl",
      `${factory}() publicUrl must be the public base URL Mandrill reaches this app at, such as "https://app.example.com"; received ${publicUrl === undefined ? "none" : typeof publicUrl}.`,
    );
  }
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    throw invalid(
      "publicUrl",
      `${factory}() publicUrl ${JSON.stringify(publicUrl)} is not an absolute URL; use e.g. "https://app.example.com".`,
    );
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.search !== "" || url.hash !== "") {
    throw invalid(
      "publicUrl",
      `${factory}() publicUrl ${JSON.stringify(publicUrl)} must be an http(s) base URL without query or fragment, e.g. "https://app.example.com".`,
    );
  }
  // The exact string (minus a trailing slash) is what the Callback URL is built from: never re-serialised.
  return publicUrl.replace(/\/+$/, "");
}

function resolvePath(factory: string, webhookPath: unknown): string {
  const path = webhookPath ?? DEFAULT_WEBHOOK_PATH;
  if (
    typeof path !== "string" ||
    !path.startsWith("/") ||
    path.split(":account").length !== 2 ||
    /[?#\s]/.test(path)
  ) {
    throw invalid(
      "webhookPath",
      `${factory}() webhookPath must start with "/" and contain ":account" once, e.g. "${DEFAULT_WEBHOOK_PATH}"; received ${show(path)}.`,
    );
  }
  return path;
}

function resolveClock(factory: string, clock: unknown): Clock {
  if (clock === undefined) return systemClock;
  if (clock === null || typeof clock !== "object" || typeof (clock as Clock).now !== "function") {
    throw invalid(
      "clock",
      `${factory}() clock must be an object with a now() method returning epoch milliseconds (systemClock, or manualClock() in tests); received ${typeof clock === "function" ? "a function (pass { now: fn })" : show(clock)}.`,
    );
  }
  return clock as Clock;
}

/** Checks a logger option: pino-compatible, or absent. */
export function resolveLogger(factory: string, logger: unknown): Logger {
  if (logger === undefined) return silentLogger;
  if (
    logger === null ||
    typeof logger !== "object" ||
    !["debug", "info", "warn", "error"].every(
      (m) => typeof (logger as Record<string, unknown>)[m] === "function",
    )
  ) {
    throw invalid(
      "logger",
      `${factory}() logger must have debug, info, warn and error methods (pino works); received ${typeof logger === "object" && logger !== null ? "an object without them" : show(logger)}.`,
    );
  }
  return logger as Logger;
}

/**
 * Checks the credential options of `factory` synchronously (unknown names are errors with a "did you
 * mean"; bad values are quoted with the fix) and applies the defaults. `known` lists every option the
 * factory accepts; `given` is the checked options object, for the options the factory adds itself.
 */
export function resolveCredentialsOptions(
  factory: string,
  options: unknown,
  known: readonly string[] = CREDENTIALS_OPTION_NAMES,
): { resolved: ResolvedCredentialsOptions; given: Record<string, unknown> } {
  const o = checkOptions(factory, options, known);
  const store = resolveStore(factory, o.store);
  const publicUrl = resolveUrl(factory, o.publicUrl);
  const webhookPath = resolvePath(factory, o.webhookPath);
  const ttl = o.cacheTtlMs ?? 30_000;
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0) {
    throw invalid(
      "cacheTtlMs",
      `${factory}() cacheTtlMs must be a non-negative number of milliseconds (0 disables the cache); received ${show(ttl)}.`,
    );
  }
  const maxEntries = o.cacheMaxEntries ?? DEFAULT_CACHE_MAX_ENTRIES;
  if (typeof maxEntries !== "number" || !Number.isInteger(maxEntries) || maxEntries < 1) {
    throw invalid(
      "cacheMaxEntries",
      `${factory}() cacheMaxEntries must be a whole number ≥ 1 (cacheTtlMs: 0 disables the cache); received ${show(maxEntries)}.`,
    );
  }
  if (o.activeKid !== undefined && typeof o.activeKid !== "string") {
    throw invalid(
      "activeKid",
      `${factory}() activeKid must be the kid of one key of the set; received ${show(o.activeKid)}.`,
    );
  }
  const clock = resolveClock(factory, o.clock);
  const logger = resolveLogger(factory, o.logger);
  const network = resolveNetworkPolicy(o.network, factory);
  // Last: a bad key set fails here, at start, with a message that contains no key material.
  const keys = checkKeySet(o.keys, o.activeKid as string | undefined);
  return {
    resolved: {
      store,
      keys,
      publicUrl,
      webhookPath,
      cacheTtlMs: ttl,
      cacheMaxEntries: maxEntries,
      clock,
      logger,
      network,
    },
    given: o,
  };
}
