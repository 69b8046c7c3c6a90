import {
  attachKitContext,
  checkOptions,
  type KitContext,
  type Logger,
  MandrillKitConfigError,
  resolveSuppressionPolicy,
  type Store,
  type SuppressionPolicyOptions,
  silentLogger,
} from "@mandrill-kit/core";
import type { NextFunction, Request, Response } from "express";
import {
  type CredentialsOptions,
  type CredentialsService,
  createCredentials,
} from "./credentials-service.js";

/** Options of {@link mandrillKit}: those of `createCredentials`, plus the suppression policy. */
export interface MandrillKitOptions extends CredentialsOptions {
  /** Suppression thresholds (DESIGN.md defaults when omitted). */
  suppression?: SuppressionPolicyOptions;
}

const OPTION_NAMES = [
  "store",
  "keys",
  "activeKid",
  "publicUrl",
  "webhookPath",
  "cacheTtlMs",
  "suppression",
  "logger",
] as const;

/** The middleware returned by {@link mandrillKit}, with the context it registers. */
export interface MandrillKitMiddleware {
  (req: Request, res: Response, next: NextFunction): void;
  /** Everything the other plugins find with zero arguments; usable outside Express (queues, scripts). */
  readonly context: KitContext;
  readonly credentials: CredentialsService;
}

/**
 * Registers the store and the credential service on the Express app, so `mandrillWebhooks()`,
 * `mandrillSettings()` and the sender work with zero arguments when mounted after it:
 *
 * ```ts
 * app.use(mandrillKit({ store, keys: process.env.MANDRILL_KIT_KEYS, publicUrl: "https://app.example.com" }));
 * ```
 */
export function mandrillKit(options: MandrillKitOptions): MandrillKitMiddleware {
  const o = checkOptions("mandrillKit", options, OPTION_NAMES);
  if (
    o.logger !== undefined &&
    (typeof o.logger !== "object" || o.logger === null || typeof (o.logger as Logger).info !== "function")
  ) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "logger",
      "mandrillKit() logger must have debug, info, warn and error methods (pino works).",
    );
  }
  const logger = (o.logger as Logger | undefined) ?? silentLogger;
  const credentials = createCredentials({
    store: o.store as Store,
    keys: o.keys as string | object,
    ...(o.activeKid === undefined ? {} : { activeKid: o.activeKid as string }),
    publicUrl: o.publicUrl as string,
    ...(o.webhookPath === undefined ? {} : { webhookPath: o.webhookPath as string }),
    ...(o.cacheTtlMs === undefined ? {} : { cacheTtlMs: o.cacheTtlMs as number }),
    logger,
  });
  const context: KitContext = {
    store: o.store as Store,
    credentials,
    logger,
    suppressionPolicy: resolveSuppressionPolicy(
      (o.suppression as SuppressionPolicyOptions | undefined) ?? {},
    ),
    publicUrl: (o.publicUrl as string).replace(/\/+$/, ""),
    webhookPath: (o.webhookPath as string | undefined) ?? "/webhooks/mandrill/:account",
  };
  const middleware = function mandrillKitMiddleware(req: Request, _res: Response, next: NextFunction): void {
    attachKitContext(req, context);
    attachKitContext(req.app.locals, context);
    next();
  };
  Object.defineProperty(middleware, "context", { value: context, enumerable: true });
  Object.defineProperty(middleware, "credentials", { value: credentials, enumerable: true });
  return middleware as MandrillKitMiddleware;
}
