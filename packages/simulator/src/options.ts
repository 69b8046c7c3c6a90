import { checkOptions, type Logger, MandrillKitConfigError, silentLogger } from "@mandrill-kit/core";
import type { ErrorStatusMode } from "./api-error.js";
import { checkFaultSpec, type FaultSpec } from "./faults.js";

/**
 * What an API key does:
 * - `valid`: a live key;
 * - `test`: a test key (spec §2.7): accepted, nothing leaves, outbox entries are flagged `test`;
 * - `disabled`: a deleted or inactive key: every call answers `Invalid_Key` "Invalid API key";
 * - `ip-restricted`: a key whose account only allows some client IPs: calls from other IPs answer
 *   `Invalid_Key` "Invalid API key" (ASSUMED: spec §2.7 and §8 leave the real answer unconfirmed).
 */
export type SimulatorKeyKind = "valid" | "test" | "disabled" | "ip-restricted";

/** One API key of a simulated account. A bare string is a `valid` key. */
export interface SimulatorKeyOptions {
  /** The key string clients send as `key` (API) or as the SMTP password. */
  key: string;
  /** @default "valid" */
  kind?: SimulatorKeyKind;
  /** For `ip-restricted` keys: client IPs allowed to use it. @default [] (every call is refused) */
  allowedIps?: string[];
}

/** A sending domain of a simulated account. A bare string is a verified domain with valid SPF and DKIM. */
export interface SimulatorDomainOptions {
  domain: string;
  /** SPF record valid. @default true */
  spf?: boolean;
  /** DKIM record valid. @default true */
  dkim?: boolean;
}

/** A stored template, in Mandrill's `templates/add` field names. */
export interface SimulatorTemplateOptions {
  /** Template name; its slug is derived from it (lower case, non-alphanumerics → `-`). */
  name: string;
  /** @default derived from `name` */
  slug?: string;
  subject?: string;
  /** The HTML, with `*|MERGE|*` tags and `mc:edit="block"` regions. */
  code?: string;
  text?: string;
  from_email?: string;
  from_name?: string;
  labels?: string[];
}

/** One simulated Mandrill account. */
export interface SimulatorAccountOptions {
  /** Identifies the account in `control` and `inspect` calls. */
  id: string;
  /** `users/info.username`. @default `${id}@example.com` */
  username?: string;
  /** API keys (also the SMTP passwords). @default [] */
  keys?: Array<string | SimulatorKeyOptions>;
  /**
   * Sending domains. A `From` address whose domain is not listed with valid SPF and DKIM makes every
   * recipient `rejected` / `unsigned` (spec §2.3). Matching is exact: a subdomain must be listed
   * itself. `"any"` treats every domain as verified. @default []
   */
  domains?: Array<string | SimulatorDomainOptions> | "any";
  /** Account balance; scheduling (`send_at`) needs a positive one (spec §2.3). @default 0 */
  balance?: number;
  /** Subaccount ids that exist; any other `subaccount` answers `Unknown_Subaccount`. @default [] */
  subaccounts?: string[];
  /** Stored templates for `messages/send-template`. @default [] */
  templates?: SimulatorTemplateOptions[];
  /** `users/info.reputation` (0–100). @default 75 */
  reputation?: number;
  /** `users/info.hourly_quota`. @default 250 */
  hourlyQuota?: number;
}

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
  /** HTTP statuses of errors: `legacy` (500 for all) or `modern` (4xx/5xx, spec §2.5). @default "legacy" */
  errorStatus?: ErrorStatusMode;
  /** How long events wait before their webhook batch is posted; `0` posts at once (tests). Mandrill
   * batches roughly every minute (spec §3.3). @default 1000 */
  flushIntervalMs?: number;
  /** Delays before each retry of a failed batch; after the last one fails the batch is dropped. The
   * real schedule is unconfirmed (spec §8). @default [5000, 30000, 120000, 600000, 1800000] */
  retryScheduleMs?: number[];
  /** Timeout of each webhook request (validation and batches). @default 10000 */
  webhookTimeoutMs?: number;
  /** Events per webhook POST, at most 1000 like Mandrill (spec §3.3). @default 1000 */
  maxBatchSize?: number;
  /**
   * Where a webhook registered at `url` is actually posted (the signature still covers `url`, as
   * Mandrill signs the registered URL). Use it when the registered public URL is not reachable from
   * here. @default (url) => url
   */
  webhookTarget?: (url: string) => string;
  /** Which host names webhooks may be posted to. @default loopback only (localhost, 127.0.0.0/8, ::1) */
  allowWebhookHost?: (hostname: string) => boolean;
  /** Escape non-ASCII characters in webhook JSON as `\uXXXX`, like PHP's json_encode (assumed, spec
   * §3.3). @default true */
  escapeUnicode?: boolean;
  /** Also emit a `delivered` event after each `send`. @default false */
  emitDelivered?: boolean;
  /** Offer SMTP AUTH before STARTTLS. @default true */
  smtpAllowInsecureAuth?: boolean;
  /** Largest API request body. @default 31457280 (30 MiB) */
  bodyLimitBytes?: number;
  /** Faults active from the start (see `control.fault`). @default [] */
  faults?: FaultSpec[];
  /** The clock: denylist expiry, `send_at`, timestamps. @default Date.now */
  now?: () => number;
  /** Where the simulator logs (pino-compatible). @default silentLogger */
  logger?: Logger;
}

/** The demo keys of {@link DEMO_ACCOUNT}, one of each kind. */
export const DEMO_KEYS = Object.freeze({
  valid: "sim-valid-key-000000000001",
  test: "sim-test-key-0000000000001",
  disabled: "sim-disabled-key-000000001",
  ipRestricted: "sim-ip-restricted-key-0001",
});

/** The account used when `accounts` is not given. */
export const DEMO_ACCOUNT: Readonly<SimulatorAccountOptions> = Object.freeze<SimulatorAccountOptions>({
  id: "demo",
  username: "demo@example.com",
  keys: [
    { key: DEMO_KEYS.valid, kind: "valid" },
    { key: DEMO_KEYS.test, kind: "test" },
    { key: DEMO_KEYS.disabled, kind: "disabled" },
    { key: DEMO_KEYS.ipRestricted, kind: "ip-restricted" },
  ],
  domains: [
    "example.com",
    "example.org",
    "example.net",
    { domain: "unverified.example", spf: false, dkim: false },
  ],
  balance: 100,
  subaccounts: ["customer-123"],
  templates: [
    {
      name: "welcome",
      subject: "Welcome, *|FNAME|*",
      code: '<p>Hello *|FNAME|*,</p><div mc:edit="main">Thanks for joining.</div>',
      text: "Hello *|FNAME|*, thanks for joining.",
      from_email: "hello@example.com",
      from_name: "Example",
    },
  ],
});

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
  faults: FaultSpec[];
  now: () => number;
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
  "faults",
  "now",
  "logger",
] as const;

const ACCOUNT_NAMES = [
  "id",
  "username",
  "keys",
  "domains",
  "balance",
  "subaccounts",
  "templates",
  "reputation",
  "hourlyQuota",
] as const;
const KEY_NAMES = ["key", "kind", "allowedIps"] as const;
const DOMAIN_NAMES = ["domain", "spf", "dkim"] as const;
const TEMPLATE_NAMES = [
  "name",
  "slug",
  "subject",
  "code",
  "text",
  "from_email",
  "from_name",
  "labels",
] as const;
const KEY_KINDS: readonly SimulatorKeyKind[] = ["valid", "test", "disabled", "ip-restricted"];

const FACTORY = "startSimulator";

function show(value: unknown): string {
  if (typeof value === "function") return "a function";
  if (value === undefined) return "undefined";
  return JSON.stringify(value) ?? String(value);
}

function fail(option: string, message: string, value: unknown): never {
  throw new MandrillKitConfigError(
    "ERR_MK_CONFIG_INVALID",
    option,
    `${FACTORY}() option ${option} ${message}; received ${show(value)}.`,
  );
}

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

function port(value: unknown, option: string, allowFalse: boolean): number | false {
  if (allowFalse && value === false) return false;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 65535) {
    fail(option, `must be a port number from 0 to 65535${allowFalse ? " or false" : ""}`, value);
  }
  return value;
}

function positiveInt(value: unknown, option: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(option, `must be an integer from ${min} to ${max}`, value);
  }
  return value;
}

function bool(value: unknown, option: string): boolean {
  if (typeof value !== "boolean") fail(option, "must be true or false", value);
  return value;
}

function fn<T>(value: unknown, option: string): T {
  if (typeof value !== "function") fail(option, "must be a function", value);
  return value as T;
}

function stringList(value: unknown, option: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || v.length === 0)) {
    fail(option, "must be an array of non-empty strings", value);
  }
  return [...(value as string[])];
}

/** Validates one account's options (also used by `control.addAccount`). */
export function checkAccountOptions(
  value: unknown,
  option: string,
  needsId: boolean,
): SimulatorAccountOptions {
  const given = checkOptions(
    `${FACTORY}() ${option}`,
    value,
    needsId ? ACCOUNT_NAMES : ACCOUNT_NAMES.slice(1),
  );
  if (needsId && (typeof given.id !== "string" || given.id.length === 0)) {
    fail(`${option}.id`, "must be a non-empty string", given.id);
  }
  if (given.username !== undefined && typeof given.username !== "string") {
    fail(`${option}.username`, "must be a string", given.username);
  }
  if (given.keys !== undefined) {
    if (!Array.isArray(given.keys)) fail(`${option}.keys`, "must be an array", given.keys);
    given.keys.forEach((k: unknown, i: number) => {
      checkKeyOptions(k, `${option}.keys[${i}]`);
    });
  }
  if (given.domains !== undefined && given.domains !== "any") {
    if (!Array.isArray(given.domains)) fail(`${option}.domains`, 'must be an array or "any"', given.domains);
    given.domains.forEach((d: unknown, i: number) => {
      if (typeof d === "string") {
        if (d.length === 0) fail(`${option}.domains[${i}]`, "must be a domain name", d);
        return;
      }
      const dom = checkOptions(`${FACTORY}() ${option}.domains[${i}]`, d, DOMAIN_NAMES);
      if (typeof dom.domain !== "string" || dom.domain.length === 0) {
        fail(`${option}.domains[${i}].domain`, "must be a domain name", dom.domain);
      }
      for (const flag of ["spf", "dkim"] as const) {
        if (dom[flag] !== undefined) bool(dom[flag], `${option}.domains[${i}].${flag}`);
      }
    });
  }
  if (given.balance !== undefined && (typeof given.balance !== "number" || !Number.isFinite(given.balance))) {
    fail(`${option}.balance`, "must be a number", given.balance);
  }
  if (given.subaccounts !== undefined) stringList(given.subaccounts, `${option}.subaccounts`);
  if (given.templates !== undefined) {
    if (!Array.isArray(given.templates)) fail(`${option}.templates`, "must be an array", given.templates);
    given.templates.forEach((t: unknown, i: number) => {
      const tpl = checkOptions(`${FACTORY}() ${option}.templates[${i}]`, t, TEMPLATE_NAMES);
      if (typeof tpl.name !== "string" || tpl.name.length === 0) {
        fail(`${option}.templates[${i}].name`, "must be a non-empty string", tpl.name);
      }
    });
  }
  if (given.reputation !== undefined) positiveInt(given.reputation, `${option}.reputation`, 0, 100);
  if (given.hourlyQuota !== undefined) positiveInt(given.hourlyQuota, `${option}.hourlyQuota`, 0);
  return given as unknown as SimulatorAccountOptions;
}

/** Validates one key's options (a string or an object). */
export function checkKeyOptions(value: unknown, option: string): SimulatorKeyOptions {
  if (typeof value === "string") {
    if (value.length === 0) fail(option, "must be a non-empty key", value);
    return { key: value, kind: "valid" };
  }
  const given = checkOptions(`${FACTORY}() ${option}`, value, KEY_NAMES);
  if (typeof given.key !== "string" || given.key.length === 0) {
    fail(`${option}.key`, "must be a non-empty string", given.key);
  }
  if (given.kind !== undefined && !KEY_KINDS.includes(given.kind as SimulatorKeyKind)) {
    fail(`${option}.kind`, `must be one of ${KEY_KINDS.join(", ")}`, given.kind);
  }
  if (given.allowedIps !== undefined) stringList(given.allowedIps, `${option}.allowedIps`);
  return given as unknown as SimulatorKeyOptions;
}

/**
 * Applies defaults and validates every option synchronously: unknown names are errors with a
 * "did you mean", bad values quote what was received.
 */
export function resolveOptions(options: unknown): ResolvedOptions {
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
    faults: faults.map((f: unknown, i: number) => checkFaultSpec(f, `faults[${i}]`)),
    now: o.now === undefined ? Date.now : fn(o.now, "now"),
    logger: logger as Logger,
  };
}
