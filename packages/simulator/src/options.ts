import { type Clock, type Logger, silentLogger, systemClock } from "@mandrill-kit/core";
import { checkOptions } from "@mandrill-kit/core/plugin";
import { checkAccountOptions, type SimulatorAccountOptions } from "./account-options.js";
import type { ErrorStatusMode } from "./api-error.js";
import { DEMO_ACCOUNT } from "./demo-account.js";
import { checkFaultSpec, type FaultSpec } from "./faults.js";
import { bool, FACTORY, fail, fn, port, positiveInt } from "./option-checks.js";

/** Options of {@link startSimulator}. Every one is optional. */
export interface SimulatorOptions {
  /** Address both servers bind to. Keep it on loopback. @default "127.0.0.1" */
  host?: string;
  /** HTTP API port; 0 picks a free one. @default 0 */
  port?: number;
  /** SMTP port (plain, STARTTLS offered); 0 picks a free one; `false` starts no SMTP server. @default 0 */
  smtpPort?: number | false;
  /** Implicit-TLS SMTP port (like Mandrill's 465); 0 picks a free one; `false` starts none. @default false */
  smtpsPort?: number | false;
  /** TLS key and certificate (PEM) for SMTP. @default a self-signed certificate generated at start */
  tls?: { key: string; cert: string };
  /** The simulated accounts. @default [DEMO_ACCOUNT] (see `DEMO_KEYS`) */
  accounts?: SimulatorAccountOptions[];
  /**
   * Accept API keys no account lists: `true` accepts every key, a function accepts the keys it returns
   * `true` for (e.g. `(key) => !key.startsWith("invalid")`). Each accepted key gets an account of its
   * own, created on first use from `anyKeyAccount`. @default false
   */
  acceptAnyKey?: boolean | ((key: string) => boolean);
  /** Settings of accounts created for `acceptAnyKey` keys. @default { domains: "any", balance: 100 } */
  anyKeyAccount?: Omit<SimulatorAccountOptions, "id" | "keys">;
  /** HTTP statuses of errors: `legacy` (500 for all) or `modern` (4xx/5xx, docs/mandrill.md#api-errors). @default "legacy" */
  errorStatus?: ErrorStatusMode;
  /** How long events wait before their webhook batch is posted; `0` posts at once (tests). Mandrill
   * batches roughly every minute (docs/mandrill.md#webhook-wire-format). @default 1000 */
  flushIntervalMs?: number;
  /** Delays before each retry of a failed batch; after the last one fails the batch is dropped. The
   * real schedule is unconfirmed (docs/mandrill.md#unconfirmed-behaviour). @default [5000, 30000, 120000, 600000, 1800000] */
  retryScheduleMs?: number[];
  /** Timeout of each webhook request (validation and batches). @default 10000 */
  webhookTimeoutMs?: number;
  /** Events per webhook POST, at most 1000 like Mandrill (docs/mandrill.md#webhook-wire-format). @default 1000 */
  maxBatchSize?: number;
  /**
   * Where a webhook registered at `url` is actually posted (the signature still covers `url`, as
   * Mandrill signs the registered URL). Use it when the registered public URL is not reachable from
   * here. @default (url) => url
   */
  webhookTarget?: (url: string) => string;
  /** Which host names webhooks may be posted to. @default loopback only (localhost, 127.0.0.0/8, ::1) */
  allowWebhookHost?: (hostname: string) => boolean;
  /** Escape non-ASCII characters in webhook JSON as `\uXXXX`, like PHP's json_encode (assumed,
   * docs/mandrill.md#webhook-wire-format). @default true */
  escapeUnicode?: boolean;
  /** Also emit a `delivered` event after each `send`. @default false */
  emitDelivered?: boolean;
  /** Offer SMTP AUTH before STARTTLS. @default true */
  smtpAllowInsecureAuth?: boolean;
  /** Largest API request body. @default 31457280 (30 MiB) */
  bodyLimitBytes?: number;
  /** Time an export job (`exports/rejects`, `exports/whitelist`) takes to complete, on `clock`. @default 200 */
  exportDelayMs?: number;
  /** Faults active from the start (see `control.fault`). @default [] */
  faults?: FaultSpec[];
  /**
   * The clock: denylist expiry, `send_at`, timestamps. Tests pass `manualClock()` from
   * `@mandrill-kit/core/testing` and move it with `advance()`. (Webhook batching and retries run on
   * real timers: use `flushIntervalMs: 0` and `control.flushWebhooks()` instead.) @default systemClock
   */
  clock?: Clock;
  /** Where the simulator logs (pino-compatible). @default silentLogger */
  logger?: Logger;
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  host: string;
  port: number;
  smtpPort: number | false;
  smtpsPort: number | false;
  tls: { key: string; cert: string } | undefined;
  accounts: SimulatorAccountOptions[];
  acceptAnyKey: (key: string) => boolean;
  anyKeyAccount: Omit<SimulatorAccountOptions, "id" | "keys">;
  errorStatus: ErrorStatusMode;
  flushIntervalMs: number;
  retryScheduleMs: number[];
  webhookTimeoutMs: number;
  maxBatchSize: number;
  webhookTarget: (url: string) => string;
  allowWebhookHost: (hostname: string) => boolean;
  escapeUnicode: boolean;
  emitDelivered: boolean;
  smtpAllowInsecureAuth: boolean;
  bodyLimitBytes: number;
  exportDelayMs: number;
  faults: FaultSpec[];
  clock: Clock;
  logger: Logger;
}

const OPTION_NAMES = [
  "host",
  "port",
  "smtpPort",
  "smtpsPort",
  "tls",
  "accounts",
  "acceptAnyKey",
  "anyKeyAccount",
  "errorStatus",
  "flushIntervalMs",
  "retryScheduleMs",
  "webhookTimeoutMs",
  "maxBatchSize",
  "webhookTarget",
  "allowWebhookHost",
  "escapeUnicode",
  "emitDelivered",
  "smtpAllowInsecureAuth",
  "bodyLimitBytes",
  "exportDelayMs",
  "faults",
  "clock",
  "logger",
] as const;

/** Loopback host names and addresses: where the simulator may post webhooks by default. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

function resolveClock(clock: unknown): Clock {
  if (clock === undefined) return systemClock;
  if (clock === null || typeof clock !== "object" || typeof (clock as Clock).now !== "function") {
    fail("clock", "must be an object with a now() method returning epoch milliseconds", clock);
  }
  return clock as Clock;
}

/**
 * Applies defaults and validates every option synchronously: unknown names are errors with a
 * "did you mean", bad values quote what was received.
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options !== null && typeof options === "object" && "now" in options) {
    fail(
      "now",
      "was replaced by clock: { now: () => epochMs } (a Clock, e.g. manualClock() in tests)",
      options.now,
    );
  }
  const o = checkOptions(FACTORY, options, OPTION_NAMES);
  const host = o.host ?? "127.0.0.1";
  if (typeof host !== "string" || host.length === 0) fail("host", "must be a host name or address", host);
  const accounts = o.accounts === undefined ? [DEMO_ACCOUNT] : o.accounts;
  if (!Array.isArray(accounts)) fail("accounts", "must be an array of accounts", accounts);
  const ids = new Set<string>();
  const keys = new Set<string>();
  accounts.forEach((a: unknown, i: number) => {
    const account = checkAccountOptions(a, `accounts[${i}]`, true);
    if (ids.has(account.id)) fail(`accounts[${i}].id`, "must be unique", account.id);
    ids.add(account.id);
    for (const k of account.keys ?? []) {
      const key = typeof k === "string" ? k : k.key;
      if (keys.has(key)) fail(`accounts[${i}].keys`, "must not repeat a key of another account", "••••");
      keys.add(key);
    }
  });
  let acceptAnyKey: (key: string) => boolean = () => false;
  if (o.acceptAnyKey === true) acceptAnyKey = () => true;
  else if (typeof o.acceptAnyKey === "function") acceptAnyKey = o.acceptAnyKey as (key: string) => boolean;
  else if (o.acceptAnyKey !== undefined && o.acceptAnyKey !== false) {
    fail("acceptAnyKey", "must be a boolean or a function (key) => boolean", o.acceptAnyKey);
  }
  const anyKeyAccount =
    o.anyKeyAccount === undefined
      ? { domains: "any" as const, balance: 100 }
      : (checkAccountOptions(o.anyKeyAccount, "anyKeyAccount", false) as Omit<
          SimulatorAccountOptions,
          "id" | "keys"
        >);
  if ("keys" in anyKeyAccount)
    fail("anyKeyAccount.keys", "is not allowed (the accepted key is the key)", "[…]");
  const errorStatus = o.errorStatus ?? "legacy";
  if (errorStatus !== "legacy" && errorStatus !== "modern") {
    fail("errorStatus", 'must be "legacy" or "modern"', errorStatus);
  }
  const retryScheduleMs = o.retryScheduleMs ?? [5_000, 30_000, 120_000, 600_000, 1_800_000];
  if (
    !Array.isArray(retryScheduleMs) ||
    retryScheduleMs.some((ms) => typeof ms !== "number" || !Number.isFinite(ms) || ms < 0)
  ) {
    fail("retryScheduleMs", "must be an array of delays in milliseconds (numbers ≥ 0)", retryScheduleMs);
  }
  let tls: { key: string; cert: string } | undefined;
  if (o.tls !== undefined) {
    const t = checkOptions(`${FACTORY}() tls`, o.tls, ["key", "cert"]);
    if (typeof t.key !== "string" || typeof t.cert !== "string")
      fail("tls", "must be { key, cert } PEM strings", "{…}");
    tls = { key: t.key, cert: t.cert };
  }
  const faults = o.faults ?? [];
  if (!Array.isArray(faults)) fail("faults", "must be an array of fault specs", faults);
  const logger = o.logger ?? silentLogger;
  if (
    typeof logger !== "object" ||
    logger === null ||
    !["debug", "info", "warn", "error"].every(
      (m) => typeof (logger as Record<string, unknown>)[m] === "function",
    )
  ) {
    fail("logger", "must have debug, info, warn and error methods", logger);
  }
  return {
    host,
    port: port(o.port ?? 0, "port", false) as number,
    smtpPort: port(o.smtpPort ?? 0, "smtpPort", true),
    smtpsPort: port(o.smtpsPort ?? false, "smtpsPort", true),
    tls,
    accounts: accounts as SimulatorAccountOptions[],
    acceptAnyKey,
    anyKeyAccount,
    errorStatus,
    flushIntervalMs: positiveInt(o.flushIntervalMs ?? 1000, "flushIntervalMs", 0),
    retryScheduleMs: [...(retryScheduleMs as number[])],
    webhookTimeoutMs: positiveInt(o.webhookTimeoutMs ?? 10_000, "webhookTimeoutMs", 1),
    maxBatchSize: positiveInt(o.maxBatchSize ?? 1000, "maxBatchSize", 1, 1000),
    webhookTarget: o.webhookTarget === undefined ? (url) => url : fn(o.webhookTarget, "webhookTarget"),
    allowWebhookHost:
      o.allowWebhookHost === undefined ? isLoopbackHost : fn(o.allowWebhookHost, "allowWebhookHost"),
    escapeUnicode: bool(o.escapeUnicode ?? true, "escapeUnicode"),
    emitDelivered: bool(o.emitDelivered ?? false, "emitDelivered"),
    smtpAllowInsecureAuth: bool(o.smtpAllowInsecureAuth ?? true, "smtpAllowInsecureAuth"),
    bodyLimitBytes: positiveInt(o.bodyLimitBytes ?? 30 * 1024 * 1024, "bodyLimitBytes", 1024),
    exportDelayMs: positiveInt(o.exportDelayMs ?? 200, "exportDelayMs", 0),
    faults: faults.map((f: unknown, i: number) => checkFaultSpec(f, `faults[${i}]`)),
    clock: resolveClock(o.clock),
    logger: logger as Logger,
  };
}
