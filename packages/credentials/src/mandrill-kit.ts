import {
  attachKitContext,
  type KitContext,
  resolveSuppressionPolicy,
  type SuppressionPolicyOptions,
} from "@mandrill-kit/core";
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
}

const OPTION_NAMES = [...CREDENTIALS_OPTION_NAMES, "suppression"] as const;

/** The middleware returned by {@link mandrillKit}, with the context it registers. */
export interface MandrillKitMiddleware {
  (req: Request, res: Response, next: NextFunction): void;
  /** Everything the other plugins find with zero arguments; usable outside Express (queues, scripts). */
  readonly context: KitContext;
  readonly credentials: CredentialsService;
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
  const credentials = credentialsFromResolved(resolved);
  const context: KitContext = {
    store: resolved.store,
    credentials,
    logger: resolved.logger,
    suppressionPolicy,
    publicUrl: resolved.publicUrl,
    webhookPath: resolved.webhookPath,
    network: resolved.network,
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
