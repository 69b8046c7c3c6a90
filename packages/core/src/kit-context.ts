import type { HealthCheck } from "./health.js";
import type { Logger } from "./logger.js";
import type { NetworkPolicy } from "./network.js";
import type { Secret } from "./redact.js";
import type { MandrillSettings, VerificationResult } from "./settings.js";
import type { Store } from "./store.js";
import type { SuppressionPolicy } from "./suppression-policy.js";
import type { Telemetry } from "./telemetry.js";

/**
 * What the other plugins need from the credential store. `@mandrill-kit/credentials` implements it;
 * a host can implement it too (e.g. settings kept elsewhere).
 */
export interface CredentialsReader {
  /** The account's settings, decrypted (cached in memory), or `undefined`. */
  get(account: string): Promise<MandrillSettings | undefined>;
  /** The account's webhook keys, current first; empty when none is saved (webhooks then fail closed). */
  webhookKeys(account: string): Promise<Secret[]>;
  /** The account's Callback URL, exactly as registered with Mandrill and shown on the settings page. */
  callbackUrl(account: string): string;
  /** Stores the outcome of a test email / diagnosis with the settings. */
  recordVerification(account: string, result: VerificationResult): Promise<void>;
}

/** Everything `mandrillKit()` puts on the Express app for the other plugins. */
export interface KitContext {
  store: Store;
  credentials: CredentialsReader;
  logger: Logger;
  suppressionPolicy: SuppressionPolicy;
  /** Public base URL of the host app, e.g. `https://app.example.com`. */
  publicUrl: string;
  /** Route of the webhook router, with `:account`, e.g. `/webhooks/mandrill/:account`. */
  webhookPath: string;
  /**
   * The operator's network policy given to `mandrillKit({ network })`: settings are checked against
   * it at save, and a sender without its own `network` option connects by it. Absent: the default
   * policy (public addresses and Mandrill's SMTP ports only).
   */
  network?: NetworkPolicy;
  /** Meter and tracer (`mandrillKit({ metrics })`); plugins make their own when absent. */
  telemetry?: Telemetry;
  /** Health checks plugins add (the dispatcher on `start()`), run by `kit.health()`. */
  healthChecks?: Map<string, HealthCheck>;
}

const KIT_CONTEXT = Symbol.for("mandrill-kit.context");

type Holder = { [KIT_CONTEXT]?: KitContext };

/** Attaches `context` to an object (the Express request or app.locals). */
export function attachKitContext(target: object, context: KitContext): void {
  Object.defineProperty(target, KIT_CONTEXT, {
    value: context,
    configurable: true,
    enumerable: false,
    writable: true,
  });
}

/**
 * The kit context of a request (set by `mandrillKit()`), looking on the request, then on
 * `req.app.locals`. `undefined` when the kit is not mounted.
 */
export function findKitContext(req: unknown): KitContext | undefined {
  if (req === null || typeof req !== "object") return undefined;
  const own = (req as Holder)[KIT_CONTEXT];
  if (own !== undefined) return own;
  const locals = (req as { app?: { locals?: unknown } }).app?.locals;
  return locals !== null && typeof locals === "object" ? (locals as Holder)[KIT_CONTEXT] : undefined;
}
