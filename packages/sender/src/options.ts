import {
  type Clock,
  type CredentialsReader,
  type KitContext,
  type Logger,
  MandrillKitConfigError,
  type MetricsOptions,
  type NetworkPolicyOptions,
  normalizeEmail,
  type Store,
  type SuppressionPolicy,
  systemClock,
} from "@mandrill-kit/core";
import {
  checkAddress,
  checkOptions,
  didYouMean,
  type NetworkPolicy,
  parseIpLiteral,
  resolveNetworkPolicy,
} from "@mandrill-kit/core/plugin";
import type { ApiClientOptions } from "./api-client.js";
import type { SmtpOptions } from "./transports/smtp.js";

/** One-click unsubscribe (RFC 8058) for accounts whose `unsubscribeMode` is `"one-click"`. */
export interface UnsubscribeOptions {
  /** Signs the links (≥ 32 characters; keep it secret and stable). */
  secret: string;
  /** Public base URL of the app. @default the kit's publicUrl */
  publicUrl?: string;
  /** Route of `mandrillUnsubscribe()`. @default "/unsubscribe/mandrill" */
  path?: string;
  /** Also offer `mailto:` in List-Unsubscribe (an address you process). */
  mailto?: string;
  /** Add a visible footer with the link to the HTML and text parts. @default true */
  footer?: boolean;
  /** Each recipient gets their own copy: at most this many copies of one send in flight. @default 4 */
  concurrency?: number;
}

/** Options of `createSender`. All optional once `mandrillKit()` is mounted (Express sugar) or `context` is given. */
export interface SenderOptions {
  /** The kit context (store, credentials, logger, policy, publicUrl) to take missing options from. */
  context?: KitContext;
  store?: Store;
  credentials?: CredentialsReader;
  logger?: Logger;
  suppression?: SuppressionPolicy;
  /** HTTP API client: base URL, timeouts, retries, pool size. */
  api?: ApiClientOptions;
  smtp?: SmtpOptions;
  unsubscribe?: UnsubscribeOptions;
  /**
   * Where the sender may connect (SMTP hosts and the API base URL). By default only public addresses
   * and Mandrill's SMTP ports: settings are tenant input. The host operator's opt-out, e.g.
   * `{ allow: ["127.0.0.1"] }` for a local simulator; never fill it from account settings.
   * @default the `network` given to `mandrillKit()` (the kit context's), else public hosts only
   */
  network?: NetworkPolicyOptions;
  /** Where the sender reads the time (unsubscribe links' issue time). @default systemClock */
  clock?: Clock;
  /** OpenTelemetry options (account attribute, providers). @default the kit's (`mandrillKit({ metrics })`) */
  metrics?: MetricsOptions;
}

/** The options of a sender, checked once when the factory is called. */
export interface SenderConfig {
  options: SenderOptions;
  api: ApiClientOptions;
  smtp: SmtpOptions;
  unsubscribe: Required<Omit<UnsubscribeOptions, "publicUrl" | "mailto">> &
    Pick<UnsubscribeOptions, "publicUrl" | "mailto">;
  /** `false` when no `unsubscribe` option was given (one-click mode then adds nothing). */
  oneClick: boolean;
  /** The `network` option, checked; `undefined` when not given (the kit context's policy, else the default). */
  network: NetworkPolicy | undefined;
  clock: Clock;
  /** The factory's name, for messages. */
  factory: string;
}

/** Every option of `createSender` (`mandrillSender` takes all but `context`). */
export const SENDER_OPTION_NAMES = [
  "context",
  "store",
  "credentials",
  "logger",
  "suppression",
  "api",
  "smtp",
  "unsubscribe",
  "network",
  "clock",
  "metrics",
] as const;
const API_OPTIONS = [
  "baseUrl",
  "connectTimeoutMs",
  "requestTimeoutMs",
  "maxAttempts",
  "retryBaseMs",
  "retryMaxMs",
  "maxRetryAfterMs",
  "connections",
] as const;
const SMTP_OPTIONS = [
  "maxConnections",
  "maxMessages",
  "maxPools",
  "connectionTimeoutMs",
  "socketTimeoutMs",
  "route",
] as const;
const UNSUBSCRIBE_OPTIONS = ["secret", "publicUrl", "path", "mailto", "footer", "concurrency"] as const;

type Check = (path: string, condition: boolean, expected: string, value: unknown) => void;

/** Checks one nested option object: a plain object whose keys are all known (with "did you mean"). */
function section(
  factory: string,
  name: string,
  value: unknown,
  known: readonly string[],
): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      name,
      `${factory}() ${name} must be an object.`,
    );
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const hint = didYouMean(key, known);
      throw new MandrillKitConfigError(
        "ERR_MK_CONFIG_UNKNOWN_OPTION",
        `${name}.${key}`,
        `${factory}() does not know the option "${name}.${key}".${hint === undefined ? "" : ` Did you mean "${name}.${hint}"?`} Known: ${known.join(", ")}.`,
      );
    }
  }
  return value as Record<string, unknown>;
}

function checker(factory: string): Check {
  return (path, condition, expected, value) => {
    if (condition) return;
    const shown = typeof value === "function" ? "a function" : JSON.stringify(value);
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      path,
      `${factory}() ${path} must be ${expected}; received ${shown}.`,
    );
  };
}

function numbers(
  check: Check,
  name: string,
  o: Record<string, unknown>,
  integers: string[],
  durations: string[],
) {
  for (const key of integers) {
    const v = o[key];
    check(
      `${name}.${key}`,
      v === undefined || (Number.isInteger(v) && (v as number) >= 1),
      "a whole number ≥ 1",
      v,
    );
  }
  for (const key of durations) {
    const v = o[key];
    const ok = v === undefined || (typeof v === "number" && Number.isFinite(v) && v >= 0);
    check(`${name}.${key}`, ok, "a number of milliseconds ≥ 0", v);
  }
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

/**
 * Refuses an API base URL that is an IP literal the policy refuses (it would fail every call): said
 * when the factory is called, or when the sender starts if its policy comes from the kit context.
 */
export function checkApiBaseUrl(factory: string, baseUrl: string | undefined, network: NetworkPolicy): void {
  if (baseUrl === undefined) return;
  const url = new URL(baseUrl);
  const host = url.hostname;
  const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
  const ip = parseIpLiteral(host);
  if (ip !== undefined && checkAddress(network, host, ip, port) !== undefined) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "api.baseUrl",
      `${factory}() api.baseUrl points at ${host}, which is not a public address, and the sender refuses to connect there. For a local simulator or relay pass network: { allow: [${JSON.stringify(url.host)}] } (to the sender or to mandrillKit()).`,
    );
  }
}

/** The policy a sender connects by: its own `network` option, else the kit context's, else the default. */
export function senderNetwork(config: SenderConfig, context: KitContext | undefined): NetworkPolicy {
  return config.network ?? context?.network ?? DEFAULT_NETWORK;
}

const DEFAULT_NETWORK = resolveNetworkPolicy(undefined, "createSender");

function checkApi(factory: string, check: Check, value: unknown): ApiClientOptions {
  const api = section(factory, "api", value, API_OPTIONS);
  check(
    "api.baseUrl",
    api.baseUrl === undefined || isHttpUrl(api.baseUrl),
    "an http(s) URL ending in /api/1.0/",
    api.baseUrl,
  );
  numbers(
    check,
    "api",
    api,
    ["maxAttempts", "connections"],
    ["connectTimeoutMs", "requestTimeoutMs", "retryBaseMs", "retryMaxMs", "maxRetryAfterMs"],
  );
  return api as ApiClientOptions;
}

function checkSmtp(factory: string, check: Check, value: unknown): SmtpOptions {
  const smtp = section(factory, "smtp", value, SMTP_OPTIONS);
  numbers(
    check,
    "smtp",
    smtp,
    ["maxConnections", "maxMessages", "maxPools"],
    ["connectionTimeoutMs", "socketTimeoutMs"],
  );
  check(
    "smtp.route",
    smtp.route === undefined || typeof smtp.route === "function",
    "a function (settings) => route",
    smtp.route,
  );
  return smtp as SmtpOptions;
}

function checkUnsubscribe(factory: string, check: Check, value: unknown): SenderConfig["unsubscribe"] {
  const u = section(factory, "unsubscribe", value, UNSUBSCRIBE_OPTIONS);
  if (value !== undefined) {
    const secret = u.secret;
    if (typeof secret !== "string" || secret.length < 32)
      throw new MandrillKitConfigError(
        "ERR_MK_CONFIG_INVALID",
        "unsubscribe.secret",
        `${factory}() unsubscribe.secret must be a random string of at least 32 characters.`,
      );
  }
  check(
    "unsubscribe.publicUrl",
    u.publicUrl === undefined || isHttpUrl(u.publicUrl),
    "an http(s) URL",
    u.publicUrl,
  );
  check(
    "unsubscribe.path",
    u.path === undefined || (typeof u.path === "string" && /^\/\S*$/.test(u.path)),
    'a path starting with "/"',
    u.path,
  );
  check(
    "unsubscribe.mailto",
    u.mailto === undefined || normalizeEmail(u.mailto) !== undefined,
    "an email address",
    u.mailto,
  );
  check(
    "unsubscribe.footer",
    u.footer === undefined || typeof u.footer === "boolean",
    "true or false",
    u.footer,
  );
  numbers(check, "unsubscribe", u, ["concurrency"], []);
  return {
    secret: (u.secret as string | undefined) ?? "",
    publicUrl: u.publicUrl as string | undefined,
    path: ((u.path as string | undefined) ?? "/unsubscribe/mandrill").replace(/\/+$/, ""),
    mailto: u.mailto as string | undefined,
    footer: u.footer !== false,
    concurrency: (u.concurrency as number | undefined) ?? 4,
  };
}

/**
 * Checks every option of `createSender` / `mandrillSender` (unknown names with a "did you mean",
 * types and ranges, the network policy) so a typo fails when the factory is called, never later.
 */
export function resolveSenderOptions(
  factory: string,
  options: unknown,
  names: readonly string[] = SENDER_OPTION_NAMES,
): SenderConfig {
  const o = checkOptions(factory, options, names) as SenderOptions;
  const check = checker(factory);
  for (const key of ["context", "store", "credentials", "suppression"] as const)
    check(key, o[key] === undefined || (typeof o[key] === "object" && o[key] !== null), "an object", o[key]);
  check(
    "logger",
    o.logger === undefined || (typeof o.logger === "object" && typeof o.logger?.warn === "function"),
    "a logger with debug, info, warn and error methods (pino works)",
    o.logger,
  );
  check(
    "clock",
    o.clock === undefined || typeof o.clock?.now === "function",
    "an object with now()",
    o.clock,
  );
  const network = o.network === undefined ? undefined : resolveNetworkPolicy(o.network, factory);
  const config: SenderConfig = {
    options: o,
    api: checkApi(factory, check, o.api),
    smtp: checkSmtp(factory, check, o.smtp),
    unsubscribe: checkUnsubscribe(factory, check, o.unsubscribe),
    oneClick: o.unsubscribe !== undefined,
    network,
    clock: o.clock ?? systemClock,
    factory,
  };
  // A literal address the policy refuses would fail every call: say so now, with the fix. When the
  // policy may come from a kit context not known yet, startSender() checks it.
  if (network !== undefined || o.context !== undefined)
    checkApiBaseUrl(factory, config.api.baseUrl, senderNetwork(config, o.context));
  return config;
}
