import { availableParallelism } from "node:os";
import {
  type Clock,
  isAccountId,
  type KitContext,
  type Logger,
  type MandrillEventType,
  MandrillKitConfigError,
  MESSAGE_EVENT_TYPES,
  type MetricsOptions,
  resolveSuppressionPolicy,
  type Secret,
  type Store,
  type SuppressionPolicy,
  type SuppressionPolicyOptions,
  SYNC_EVENT_TYPES,
  silentLogger,
  systemClock,
} from "@mandrill-kit/core";
import {
  checkOptions,
  createTelemetry,
  defaultTelemetry,
  resolveMetricsOptions,
  type Telemetry,
} from "@mandrill-kit/core/plugin";
import {
  DISPATCH_OPTION_NAMES,
  type DispatchConfig,
  type DispatchOptions,
  integerOption,
  quote,
  resolveDispatchOptions,
} from "./dispatch-options.js";
import { usableKey } from "./verify-request.js";

/** Options of `mandrillWebhooks()`. Every one is optional once `mandrillKit()` is mounted. */
export interface MandrillWebhooksOptions extends DispatchOptions {
  /** Where events and suppressions go. @default the kit context's store */
  store?: Store;
  /** Route, with `:account` (multi-account) or without (single account). @default the kit's webhookPath */
  path?: string;
  /** Public base URL; with `path` it gives each account's Callback URL. @default the kit's publicUrl */
  publicUrl?: string;
  /** The account's webhook keys (current first); blank ones are ignored. @default the kit's credentials.webhookKeys */
  webhookKeys?: (account: string) => Promise<readonly (string | Secret)[]> | readonly (string | Secret)[];
  /** Single-account form: the webhook key(s) for a `path` without `:account`. Never empty or blank. */
  key?: string | readonly string[];
  /** Single-account form: the account id events are stored under. @default "default" */
  account?: string;
  /** Suppression thresholds. @default the kit's policy */
  suppression?: SuppressionPolicyOptions;
  /** Largest body accepted (413 beyond). @default 10485760 (10 MiB) */
  bodyLimitBytes?: number;
  /** Deadline for the whole POST body, from its first byte (408 after it; 100–600000). @default 30000 */
  bodyTimeoutMs?: number;
  /**
   * Worker threads that decode, verify and parse large batches (and compute their keys and
   * suppression effects), so the main thread only reads bodies, stores and answers; 0 does all of it
   * on the main thread. Started on first use, replaced when one dies (its requests get 503 and
   * Mandrill retries them), stopped by `close()`. 0–16. @default 1 when the machine has 2 or more
   * CPUs, else 0
   */
  parseThreads?: number;
  /** Smallest raw body handed to a parse thread; smaller ones are parsed on the main thread. @default 65536 */
  parseThreadMinBytes?: number;
  /**
   * Event types stored as already done: no handler in any process runs for them, and `on()` refuses
   * them. An explicit opt-in for high-volume types nobody handles (`open`, `click`, `send`…); without
   * it every event is stored `pending` and dispatchers complete the types they have no handler for.
   * @default []
   */
  skipHandlersFor?: readonly MandrillEventType[];
  /** @default the kit's logger */
  logger?: Logger;
  /** Where receive times, retry times and handler deadlines are read. @default systemClock */
  clock?: Clock;
  /** OpenTelemetry options (account attribute, providers). @default the kit's (`mandrillKit({ metrics })`) */
  metrics?: MetricsOptions;
}

export const DEFAULT_PATH = "/webhooks/mandrill/:account";

const OPTION_NAMES = [
  "store",
  "path",
  "publicUrl",
  "webhookKeys",
  "key",
  "account",
  "suppression",
  "bodyLimitBytes",
  "bodyTimeoutMs",
  "parseThreads",
  "parseThreadMinBytes",
  "skipHandlersFor",
  "logger",
  "clock",
  "metrics",
  ...DISPATCH_OPTION_NAMES,
] as const;

export const EVENT_TYPES: readonly string[] = [
  ...MESSAGE_EVENT_TYPES,
  ...SYNC_EVENT_TYPES,
  "inbound",
  "unknown",
];

/** The options, validated once, with defaults applied. */
export interface WebhooksConfig {
  options: MandrillWebhooksOptions;
  bodyLimitBytes: number;
  bodyTimeoutMs: number;
  parseThreads: number;
  parseThreadMinBytes: number;
  /** Single-account form (`key` given). */
  single: boolean;
  singleAccount: string;
  fixedKeys: string[] | undefined;
  policy: SuppressionPolicy | undefined;
  skipHandlersFor: ReadonlySet<string>;
  dispatch: DispatchConfig;
  clock: Clock;
  /** True when the options name every dependency: the kit context is not needed. */
  explicit: boolean;
  /** From the `metrics` option; else the kit's, else the global providers. */
  telemetry: Telemetry | undefined;
}

function configError(option: string, message: string): MandrillKitConfigError {
  return new MandrillKitConfigError("ERR_MK_CONFIG_INVALID", option, `mandrillWebhooks() ${message}`);
}

function checkKeys(key: unknown): string[] | undefined {
  if (key === undefined) return undefined;
  const keys = typeof key === "string" ? [key] : Array.isArray(key) ? [...key] : undefined;
  if (keys === undefined || keys.length === 0 || keys.some((k) => typeof k !== "string"))
    throw configError(
      "key",
      "key must be a webhook key string or a non-empty array of them (current first).",
    );
  const blank = keys.findIndex((k) => !usableKey(k));
  if (blank !== -1) {
    // A blank key would verify batches anyone can sign: refuse it here, never fail open.
    throw configError(
      "key",
      `key${typeof key === "string" ? "" : `[${blank}]`} is empty or blank; a webhook key verifies who signed a batch, so it must be the key Mandrill shows for the webhook (Settings → Webhooks).`,
    );
  }
  return keys;
}

function checkShape(o: MandrillWebhooksOptions): void {
  if (
    o.path !== undefined &&
    (typeof o.path !== "string" || !o.path.startsWith("/") || o.path.split(":account").length > 2)
  )
    throw configError(
      "path",
      `path must start with "/" and contain ":account" at most once; received ${quote(o.path)}.`,
    );
  if (
    o.key !== undefined &&
    (o.path === undefined || o.path.includes(":account") || o.publicUrl === undefined)
  )
    throw configError(
      "key",
      'the single-account form needs path (without ":account") and publicUrl, e.g. { path: "/hooks/mandrill", publicUrl: "https://app.example.com", key }.',
    );
  if (o.account !== undefined && !isAccountId(o.account))
    throw configError("account", `account ${quote(o.account)} is not a valid account id.`);
  if (o.publicUrl !== undefined) {
    let scheme = "";
    try {
      scheme = new URL(o.publicUrl).protocol;
    } catch {}
    if (scheme !== "https:" && scheme !== "http:")
      throw configError(
        "publicUrl",
        `publicUrl must be an absolute http(s) URL such as "https://app.example.com"; received ${quote(o.publicUrl)}.`,
      );
  }
  if (o.webhookKeys !== undefined && typeof o.webhookKeys !== "function")
    throw configError("webhookKeys", "webhookKeys must be a function (account) => keys, current first.");
  if (o.store !== undefined && (typeof o.store !== "object" || o.store === null || !("inbox" in o.store)))
    throw configError("store", "store must be a mandrill-kit store, e.g. openSqliteStore({ filename }).");
  if (o.clock !== undefined && typeof o.clock?.now !== "function")
    throw configError("clock", "clock must be an object with a now() method returning epoch milliseconds.");
}

function checkSkip(skip: unknown): ReadonlySet<string> {
  if (skip === undefined) return new Set();
  if (!Array.isArray(skip))
    throw configError(
      "skipHandlersFor",
      `skipHandlersFor must be an array of event types; received ${quote(skip)}.`,
    );
  const unknown = skip.find((t) => typeof t !== "string" || !EVENT_TYPES.includes(t));
  if (unknown !== undefined)
    throw configError(
      "skipHandlersFor",
      `skipHandlersFor lists ${quote(unknown)}, which is not a Mandrill event type; use one of ${EVENT_TYPES.join(", ")}.`,
    );
  return new Set(skip as string[]);
}

/** Validates every option at factory time: a typo fails at boot, never on a later request. */
export function resolveWebhooksOptions(options: MandrillWebhooksOptions): WebhooksConfig {
  const o = checkOptions("mandrillWebhooks", options, OPTION_NAMES) as MandrillWebhooksOptions;
  checkShape(o);
  const fixedKeys = checkKeys(o.key);
  return {
    options: o,
    bodyLimitBytes: integerOption("mandrillWebhooks", "bodyLimitBytes", o.bodyLimitBytes, {
      min: 1024,
      max: 2 ** 30,
      fallback: 10 * 1024 * 1024,
    }),
    bodyTimeoutMs: integerOption("mandrillWebhooks", "bodyTimeoutMs", o.bodyTimeoutMs, {
      min: 100,
      max: 600_000,
      fallback: 30_000,
    }),
    parseThreads: integerOption("mandrillWebhooks", "parseThreads", o.parseThreads, {
      min: 0,
      max: 16,
      fallback: availableParallelism() >= 2 ? 1 : 0,
    }),
    parseThreadMinBytes: integerOption("mandrillWebhooks", "parseThreadMinBytes", o.parseThreadMinBytes, {
      min: 0,
      max: 2 ** 30,
      fallback: 65536,
    }),
    single: fixedKeys !== undefined,
    singleAccount: o.account ?? "default",
    fixedKeys,
    policy: o.suppression === undefined ? undefined : resolveSuppressionPolicy(o.suppression),
    skipHandlersFor: checkSkip(o.skipHandlersFor),
    dispatch: resolveDispatchOptions("mandrillWebhooks", o),
    clock: o.clock ?? systemClock,
    telemetry:
      o.metrics === undefined
        ? undefined
        : createTelemetry(resolveMetricsOptions("mandrillWebhooks", o.metrics)),
    explicit:
      o.store !== undefined &&
      (fixedKeys !== undefined || o.webhookKeys !== undefined) &&
      o.publicUrl !== undefined,
  };
}

/** What the router needs, from the options or else the kit context. */
export interface RouterDeps {
  store: Store;
  logger: Logger;
  policy: SuppressionPolicy;
  /** Usable keys of an account, current first (blank ones dropped). */
  keysOf: (account: string) => Promise<string[]>;
  /** The account's Callback URL, exactly as registered with Mandrill. */
  urlOf: (account: string) => string;
  path: string;
  telemetry: Telemetry;
}

const reveal = (keys: readonly (string | Secret)[]): string[] =>
  keys.map((k) => (typeof k === "string" ? k : k.reveal())).filter(usableKey);

/** Resolves the router's dependencies; throws `ERR_MK_KIT_NOT_MOUNTED` when some are missing. */
export function resolveRouterDeps(config: WebhooksConfig, context: KitContext | undefined): RouterDeps {
  const o = config.options;
  const store = o.store ?? context?.store;
  const publicUrl = (o.publicUrl ?? context?.publicUrl)?.replace(/\/+$/, "");
  const path = o.path ?? context?.webhookPath ?? DEFAULT_PATH;
  const { fixedKeys } = config;
  const webhookKeys = o.webhookKeys ?? context?.credentials.webhookKeys.bind(context.credentials);
  const keysOf =
    fixedKeys !== undefined
      ? async () => fixedKeys
      : webhookKeys !== undefined
        ? async (account: string) => reveal(await webhookKeys(account))
        : undefined;
  if (store === undefined || publicUrl === undefined || keysOf === undefined) {
    throw new MandrillKitConfigError(
      "ERR_MK_KIT_NOT_MOUNTED",
      "store",
      "mandrillWebhooks() has no store, publicUrl or webhook keys: mount app.use(mandrillKit({...})) before it, or pass { store, publicUrl, webhookKeys } (or { store, path, publicUrl, key } for one account).",
    );
  }
  const urlOf =
    context !== undefined && o.publicUrl === undefined && o.path === undefined
      ? (account: string) => context.credentials.callbackUrl(account)
      : (account: string) => publicUrl + path.replace(":account", encodeURIComponent(account));
  return {
    store,
    logger: o.logger ?? context?.logger ?? silentLogger,
    policy: config.policy ?? context?.suppressionPolicy ?? resolveSuppressionPolicy(),
    keysOf,
    urlOf,
    path,
    telemetry: config.telemetry ?? context?.telemetry ?? defaultTelemetry(),
  };
}
