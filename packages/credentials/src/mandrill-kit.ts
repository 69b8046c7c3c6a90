import {
  type KitContext,
  type KitHealth,
  type MetricsOptions,
  resolveSuppressionPolicy,
  type Store,
  type SuppressionPolicyOptions,
} from "@mandrill-kit/core";
import {
  attachKitContext,
  createTelemetry,
  type HealthCheck,
  resolveMetricsOptions,
  runHealthCheck,
} from "@mandrill-kit/core/plugin";
import type { NextFunction, Request, Response } from "express";
import {
  CREDENTIALS_OPTION_NAMES,
  type CredentialsOptions,
  resolveCredentialsOptions,
} from "./credentials-options.js";
import { type CredentialsService, credentialsFromResolved } from "./credentials-service.js";

/** Options of {@link mandrillKit}: those of `createCredentials`, plus the suppression policy. */
export interface MandrillKitOptions extends CredentialsOptions {
  /** Suppression thresholds (the defaults of `DEFAULT_SUPPRESSION_POLICY` when omitted). */
  suppression?: SuppressionPolicyOptions;
  /**
   * OpenTelemetry metrics and traces of every plugin (a no-op until the host installs an SDK):
   * `{ perAccount: true }` adds the account id to metric attributes. @default { perAccount: false }
   */
  metrics?: MetricsOptions;
}

const OPTION_NAMES = [...CREDENTIALS_OPTION_NAMES, "suppression", "metrics"] as const;

/** Options of {@link MandrillKitMiddleware.health}. */
export interface HealthOptions {
  /** How long each check may take before it counts as failed. @default 1000 */
  deadlineMs?: number;
}

/** A cheap store round trip: one primary-key read of an account id that is never used. */
const storeProbe = (store: Store) => async () => {
  await store.credentials.get("mandrill-kit-health-probe");
  return undefined;
};

/** The middleware returned by {@link mandrillKit}, with the context it registers. */
export interface MandrillKitMiddleware {
  (req: Request, res: Response, next: NextFunction): void;
  /** Everything the other plugins find with zero arguments; usable outside Express (queues, scripts). */
  readonly context: KitContext;
  readonly credentials: CredentialsService;
  /**
   * Readiness for load balancers and `/readyz`: the store answers a cheap query within the deadline,
   * the webhook dispatcher (when started with this kit's context) is alive, and the key set loads.
   * Never throws; each check has `ok`, `ms`, and `error` in plain words when it failed.
   */
  health(options?: HealthOptions): Promise<KitHealth>;
}

/**
 * Registers the store and the credential service on the Express app, so `mandrillWebhooks()`,
 * `mandrillSettings()` and the sender work with zero arguments when mounted after it. Every option is
 * checked here, synchronously: a typo or a bad value fails at boot (`ERR_MK_CONFIG_*`), quoting it.
 *
 * ```ts
 * app.use(mandrillKit({ store, keys: process.env.MANDRILL_KIT_KEYS, publicUrl: "https://app.example.com" }));
 * ```
 */
export function mandrillKit(options: MandrillKitOptions): MandrillKitMiddleware {
  const { resolved, given } = resolveCredentialsOptions("mandrillKit", options, OPTION_NAMES);
  const suppressionPolicy = resolveSuppressionPolicy(
    (given.suppression as SuppressionPolicyOptions | undefined) ?? {},
  );
  const telemetry = createTelemetry(resolveMetricsOptions("mandrillKit", given.metrics));
  const credentials = credentialsFromResolved(resolved, telemetry);
  const healthChecks = new Map<string, HealthCheck>();
  const context: KitContext = {
    store: resolved.store,
    credentials,
    logger: resolved.logger,
    suppressionPolicy,
    publicUrl: resolved.publicUrl,
    webhookPath: resolved.webhookPath,
    network: resolved.network,
    telemetry,
    healthChecks,
  };
  async function health(healthOptions: HealthOptions = {}): Promise<KitHealth> {
    const deadlineMs = healthOptions.deadlineMs ?? 1000;
    const notStarted: HealthCheck = () => "not started with this kit's context in this process";
    const [store, dispatcher, keys] = await Promise.all([
      runHealthCheck(storeProbe(resolved.store), deadlineMs, "the store"),
      runHealthCheck(healthChecks.get("dispatcher") ?? notStarted, deadlineMs, "the webhook dispatcher"),
      runHealthCheck(async () => void (await credentials.ready()), deadlineMs, "the encryption key set"),
    ]);
    return { ok: store.ok && dispatcher.ok && keys.ok, checks: { store, dispatcher, keys } };
  }
  const middleware = function mandrillKitMiddleware(req: Request, _res: Response, next: NextFunction): void {
    attachKitContext(req, context);
    attachKitContext(req.app.locals, context);
    next();
  };
  Object.defineProperty(middleware, "context", { value: context, enumerable: true });
  Object.defineProperty(middleware, "credentials", { value: credentials, enumerable: true });
  Object.defineProperty(middleware, "health", { value: health, enumerable: true });
  return middleware as MandrillKitMiddleware;
}
