import { fileURLToPath } from "node:url";
import {
  type Logger,
  MANDRILL_SMTP_HOST,
  type MandrillSettings,
  type NetworkPolicyOptions,
  type Store,
  silentLogger,
} from "@mandrill-kit/core";
import { componentLogger, parseIpLiteral } from "@mandrill-kit/core/plugin";
import { type MandrillKitMiddleware, mandrillKit } from "@mandrill-kit/credentials";
import {
  defaultSmtpRoute,
  mandrillSender,
  mandrillUnsubscribe,
  type Sender,
  type SmtpRoute,
} from "@mandrill-kit/sender";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { type MandrillWebhooks, mandrillWebhooks } from "@mandrill-kit/webhooks";
import express, { type Express } from "express";
import { apiRouter } from "./api.js";
import type { AppDeps } from "./deps.js";
import { createAppLimits } from "./limits.js";
import {
  createObservability,
  type Observability,
  observabilityRouter,
  type TracesOptions,
} from "./observability.js";
import { pagesRouter } from "./pages.js";
import { securityHeaders } from "./security/headers.js";
import { createLoginCsrf } from "./security/login-csrf.js";
import { DEFAULT_RATE_LIMITS, type RateLimits } from "./security/rate-limit.js";
import { createSessions, type Sessions } from "./security/session.js";

/** Where the app's Mandrill is: the in-process simulator, or Mandrill (or anything speaking its API). */
export type MandrillTarget =
  | {
      kind: "simulator";
      /** The simulator's API base URL (`sim.apiUrl`). */
      apiUrl: string;
      /** The simulator's SMTP server (`sim.smtp`): `smtp.mandrillapp.com` settings are routed here. */
      smtp: { host: string; port: number | null; ca: string };
    }
  | { kind: "mandrill"; apiUrl: string };

/** Options of {@link createApp}: the environment already mapped (see config.ts). */
export interface AppOptions {
  /** Folder of the SQLite database (`mandrill.db`), when `store` is not given. */
  dataDir?: string;
  /** A store owned by the caller (then `close()` leaves it open). */
  store?: Store;
  /** JWK Set that encrypts the saved secrets. */
  keys: string | object;
  /** Where Mandrill reaches this app; the Callback URLs are built from it. */
  publicUrl: string;
  adminToken: string;
  /** Signs one-click unsubscribe links (≥ 32 characters). */
  unsubscribeSecret: string;
  mandrill: MandrillTarget;
  logger?: Logger;
  /** Request limits (each defaults to {@link DEFAULT_RATE_LIMITS}). */
  rateLimits?: Partial<RateLimits>;
  /**
   * Express's "trust proxy" behind a reverse proxy, so rate limits see client addresses: a hop count or
   * the proxies' addresses and subnets (`"loopback, 10.0.0.0/8"`). Never `true` (trust every hop): any
   * client could then pick its own address with `X-Forwarded-For`. @default false
   */
  trustProxy?: false | number | string | readonly string[];
  /** Logged-in sessions kept at most (the least recently used are logged out). @default 10_000 */
  maxSessions?: number;
  /** `METRICS_TOKEN`: may read `/metrics` (and `/readyz` details) without the admin token. */
  metricsToken?: string;
  /** `METRICS_PER_ACCOUNT`: the account id as a metric attribute. @default false */
  metricsPerAccount?: boolean;
  /** Spans exported over OTLP/HTTP (`OTEL_EXPORTER_OTLP_*`); unset: no trace SDK (no spans recorded). */
  traces?: TracesOptions;
  /** The metrics SDK behind `/metrics` (owned by the caller). @default a new one, with a Prometheus reader */
  observability?: Observability;
  /** Webhook handler retry timing (tests shorten it). */
  webhookRetry?: { retryBaseMs?: number; maxAttempts?: number; pollIntervalMs?: number };
}

/** The app and the parts a host shuts down. */
export interface ExampleApp {
  app: Express;
  kit: MandrillKitMiddleware;
  webhooks: MandrillWebhooks;
  sender: Sender;
  store: Store;
  /** The logged-in sessions (in memory). */
  sessions: Sessions;
  /** Stops webhook dispatching, closes the sender's pools, then the store (when the app opened it). */
  close(): Promise<void>;
}

const STATIC_DIR = fileURLToPath(new URL("../static/", import.meta.url));

/** SMTP route: in simulator mode, settings naming smtp.mandrillapp.com go to the simulator's SMTP server. */
function smtpRoute(target: MandrillTarget): ((settings: MandrillSettings) => SmtpRoute) | undefined {
  if (target.kind !== "simulator" || target.smtp.port === null) return undefined;
  const { host, port, ca } = target.smtp;
  return (settings) =>
    settings.host === MANDRILL_SMTP_HOST
      ? { host, port, secure: false, tls: { ca } }
      : defaultSmtpRoute(settings);
}

/**
 * The operator's network opt-out: the Mandrill endpoint this server was configured with (the
 * in-process simulator, or a MANDRILL_API_URL on this machine) may be a loopback or private address.
 * Only those exact address:port pairs are allowed (the API's, and the simulator's SMTP server that
 * `smtp.mandrillapp.com` is routed to), so a tenant host name resolving to that address reaches no
 * other service on it; tenants still cannot save such an address (the credentials keep the default
 * policy).
 */
export function operatorNetwork(target: MandrillTarget): NetworkPolicyOptions {
  const api = new URL(target.apiUrl);
  const endpoints: [string, number][] = [
    [api.hostname, Number(api.port) || (api.protocol === "https:" ? 443 : 80)],
  ];
  if (target.kind === "simulator" && target.smtp.port !== null)
    endpoints.push([target.smtp.host, target.smtp.port]);
  const allow = endpoints
    .filter(([host]) => parseIpLiteral(host) !== undefined)
    .map(([host, port]) => `${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`);
  return { allow: [...new Set(allow)] };
}

/**
 * Builds the example's Express 5 app: helmet with a strict CSP, the kit (store + encrypted
 * credentials), the webhook router, the sender, one-click unsubscribe, the JSON API under `/api` and
 * the admin pages. Nothing listens here: `main.ts` (or a test) does.
 */
export function createApp(options: AppOptions): ExampleApp {
  const logger = options.logger ?? silentLogger;
  const log = componentLogger(logger, { component: "example-server" });
  const ownsStore = options.store === undefined;
  if (ownsStore && options.dataDir === undefined) throw new Error("createApp() needs dataDir or store.");
  const store = options.store ?? openSqliteStore({ filename: `${options.dataDir}/mandrill.db`, logger });
  const https = options.publicUrl.startsWith("https:");

  const app = express();
  if ((options.trustProxy as unknown) === true) {
    throw new Error("createApp(): trustProxy must be a hop count or a list of proxy addresses, never true.");
  }
  app.set("trust proxy", options.trustProxy ?? false);
  app.use(securityHeaders(https));
  app.use("/static", express.static(STATIC_DIR, { index: false, maxAge: "1h" }));
  app.get("/favicon.ico", (_req, res) => {
    res.status(204).end();
  });
  app.get("/healthz", (_req, res) => {
    res.json({ ok: true });
  });

  const observability =
    options.observability ??
    createObservability({
      perAccount: options.metricsPerAccount === true,
      ...(options.traces === undefined ? {} : { traces: options.traces }),
    });
  const kit = mandrillKit({
    store,
    keys: options.keys,
    publicUrl: options.publicUrl,
    logger,
    metrics: observability.metrics,
  });
  app.use(
    observabilityRouter({
      kit,
      observability,
      adminToken: options.adminToken,
      metricsToken: options.metricsToken,
    }),
  );
  app.use(kit);

  // Before any body parser: the router reads (and verifies) the raw body itself.
  const webhooks = mandrillWebhooks({
    ...(options.webhookRetry?.retryBaseMs === undefined
      ? {}
      : { retryBaseMs: options.webhookRetry.retryBaseMs }),
    ...(options.webhookRetry?.maxAttempts === undefined
      ? {}
      : { maxAttempts: options.webhookRetry.maxAttempts }),
    ...(options.webhookRetry?.pollIntervalMs === undefined
      ? {}
      : { pollIntervalMs: options.webhookRetry.pollIntervalMs }),
  });
  // What a host does with events; the suppression list is already updated before these run.
  webhooks.on(["hard_bounce", "spam", "unsub", "reject"], (event, { account }) => {
    log.info({ account, type: event.type, email: event.email }, "address suppressed by a Mandrill webhook");
  });
  webhooks.onError((error, { eventKey, willRetry }) => {
    log.warn(
      { eventKey, willRetry, error: error instanceof Error ? error.message : String(error) },
      "webhook handler failed",
    );
  });
  app.use(webhooks);
  webhooks.start(kit.context);

  const route = smtpRoute(options.mandrill);
  const senderMiddleware = mandrillSender({
    store,
    credentials: kit.credentials,
    logger,
    suppression: kit.context.suppressionPolicy,
    api: { baseUrl: options.mandrill.apiUrl },
    network: operatorNetwork(options.mandrill),
    ...(route === undefined ? {} : { smtp: { route } }),
    unsubscribe: { secret: options.unsubscribeSecret },
    metrics: observability.metrics,
  });
  app.use(senderMiddleware);
  const sender = senderMiddleware.sender;
  if (sender === undefined) throw new Error("mandrillSender() did not create its sender.");
  app.use(mandrillUnsubscribe({ secret: options.unsubscribeSecret, store }));

  const deps: AppDeps = {
    store,
    credentials: kit.credentials,
    sender,
    webhooks,
    simulator: options.mandrill.kind === "simulator",
    publicUrl: options.publicUrl,
    adminToken: options.adminToken,
    sessions: createSessions({
      secure: https,
      ...(options.maxSessions === undefined ? {} : { maxSessions: options.maxSessions }),
    }),
    loginCsrf: createLoginCsrf({ secure: https }),
    limits: createAppLimits(options.adminToken, { ...DEFAULT_RATE_LIMITS, ...options.rateLimits }),
    log,
  };
  app.use("/api", apiRouter(deps));
  app.use(pagesRouter(deps));

  let closing: Promise<void> | undefined;
  return {
    app,
    kit,
    webhooks,
    sender,
    store,
    sessions: deps.sessions,
    close() {
      closing ??= (async () => {
        await webhooks.close();
        await senderMiddleware.close();
        if (ownsStore) await store.close();
        if (options.observability === undefined) await observability.shutdown();
      })();
      return closing;
    },
  };
}
