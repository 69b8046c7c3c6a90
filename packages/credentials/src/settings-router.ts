import {
  errorResponse,
  isMandrillKitError,
  MandrillKitConfigError,
  MandrillKitForbiddenError,
  MandrillKitNotFoundError,
  MandrillKitValidationError,
  requireAccountId,
  silentLogger,
} from "@mandrill-kit/core";
import { checkOptions, componentLogger, findKitContext } from "@mandrill-kit/core/plugin";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { CredentialsService } from "./credentials-service.js";
import { readSettingsBody } from "./settings-body.js";
import { type MandrillSettingsInput, WEBHOOK_KEY_ID } from "./settings-input.js";

/** Decides whether a request may read or change an account's settings. */
export type AuthorizeHook = (req: Request, account: string) => boolean | Promise<boolean>;

/** Options of {@link mandrillSettings}. */
export interface MandrillSettingsOptions {
  /**
   * Required. A hook that returns true when the request may manage `account`, or
   * `"handled-upstream"` when a middleware mounted before the router already restricts access.
   */
  authorize: AuthorizeHook | "handled-upstream";
  /** The credential service; found on the kit context when omitted. */
  credentials?: CredentialsService;
  /** Largest JSON body accepted. @default 16384 */
  bodyLimitBytes?: number;
  /**
   * What the router does with its own server errors (5xx: the store failing, a secret that cannot be
   * decrypted, `mandrillKit()` not mounted, a throwing `authorize` hook):
   * - `"respond"`: answer the kit's JSON error (`{ error: { code, message } }`, details hidden) and
   *   log the error through the kit's logger;
   * - `"next"`: call `next(err)` with the original error, so the host's error handler and APM see it
   *   (the host answers; `errorResponse(err)` from `@mandrill-kit/core` gives the kit's status and body).
   *
   * Client errors (400, 403, 404, 409, 413, 415, 422) are always answered by the router.
   * @default "respond"
   */
  serverErrors?: "respond" | "next";
}

const OPTION_NAMES = ["authorize", "credentials", "bodyLimitBytes", "serverErrors"] as const;

interface SettingsConfig {
  authorize: AuthorizeHook | "handled-upstream";
  credentials: CredentialsService | undefined;
  bodyLimitBytes: number;
  serverErrors: "respond" | "next";
}

function show(value: unknown): string {
  if (typeof value === "function") return "a function";
  if (value === undefined) return "nothing";
  return JSON.stringify(value) ?? String(value);
}

function resolveSettingsOptions(options: unknown): SettingsConfig {
  const o = checkOptions("mandrillSettings", options, OPTION_NAMES);
  const authorize = o.authorize;
  if (authorize !== "handled-upstream" && typeof authorize !== "function") {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_AUTH_REQUIRED",
      "authorize",
      `mandrillSettings() serves API keys' settings, so it needs authorize: (req, account) => boolean, or authorize: "handled-upstream" when an auth middleware mounted before it already restricts access; received ${show(authorize)}.`,
    );
  }
  const limit = o.bodyLimitBytes ?? 16_384;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 256) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "bodyLimitBytes",
      `mandrillSettings() bodyLimitBytes must be an integer ≥ 256; received ${show(limit)}.`,
    );
  }
  const credentials = o.credentials;
  if (
    credentials !== undefined &&
    (credentials === null ||
      typeof credentials !== "object" ||
      typeof (credentials as Partial<CredentialsService>).save !== "function" ||
      typeof (credentials as Partial<CredentialsService>).describe !== "function")
  ) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "credentials",
      `mandrillSettings() credentials must be the service of createCredentials() (or mandrillKit().credentials), or be left out to use the one mandrillKit() registers; received ${typeof credentials === "object" && credentials !== null ? "an object without save() and describe()" : show(credentials)}.`,
    );
  }
  const serverErrors = o.serverErrors ?? "respond";
  if (serverErrors !== "respond" && serverErrors !== "next") {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "serverErrors",
      `mandrillSettings() serverErrors must be "respond" or "next"; received ${show(serverErrors)}.`,
    );
  }
  return {
    authorize: authorize as SettingsConfig["authorize"],
    credentials: credentials as CredentialsService | undefined,
    bodyLimitBytes: limit,
    serverErrors,
  };
}

const settingsLogger = (req: Request) =>
  componentLogger(findKitContext(req)?.logger ?? silentLogger, { component: "settings" });

/** Answers an error: client errors with the kit's JSON; server errors as `serverErrors` says. */
function sendError(
  config: SettingsConfig,
  req: Request,
  res: Response,
  next: NextFunction,
  error: unknown,
  status?: number,
): void {
  const { status: mapped, body } = errorResponse(error);
  const final = status ?? mapped;
  if (res.headersSent || (final >= 500 && config.serverErrors === "next")) {
    next(error);
    return;
  }
  if (final >= 500) {
    settingsLogger(req).error(
      {
        account: typeof req.params.account === "string" ? req.params.account : undefined,
        code: isMandrillKitError(error) ? error.code : "ERR_MK_INTERNAL",
        err: error,
      },
      "settings request failed",
    );
  }
  res.status(final).set("Cache-Control", "no-store").json(body);
}

type Handler = (req: Request, res: Response) => Promise<void>;

/** The route handlers of one router, sharing its configuration. */
function settingsHandlers(config: SettingsConfig) {
  const credentialsOf = (req: Request): CredentialsService => {
    const found = config.credentials ?? (findKitContext(req)?.credentials as CredentialsService | undefined);
    if (found === undefined) {
      throw new MandrillKitConfigError(
        "ERR_MK_KIT_NOT_MOUNTED",
        "credentials",
        "mandrillSettings() found no credential service: mount app.use(mandrillKit({...})) before it, or pass { credentials }.",
      );
    }
    return found;
  };

  const guard = async (req: Request): Promise<{ account: string; credentials: CredentialsService }> => {
    const account = requireAccountId(req.params.account);
    const { authorize } = config;
    if (authorize !== "handled-upstream" && !(await authorize(req, account))) {
      throw new MandrillKitForbiddenError(
        `Not allowed to manage the email settings of account "${account}".`,
      );
    }
    return { account, credentials: credentialsOf(req) };
  };

  const readSettings: Handler = async (req, res) => {
    const { account, credentials } = await guard(req);
    const view = await credentials.describe(account);
    if (view === undefined)
      throw new MandrillKitNotFoundError(`Account "${account}" has no Mandrill settings yet.`);
    res.set("Cache-Control", "no-store").json(view);
  };

  const writeSettings = async (req: Request, res: Response, body: unknown): Promise<void> => {
    const { account, credentials } = await guard(req);
    // Anything but an object goes to save() as is, which refuses it ("must be a JSON object").
    const isObject = body !== null && typeof body === "object" && !Array.isArray(body);
    const { expectedVersion, ...input } = (isObject ? body : {}) as MandrillSettingsInput & {
      expectedVersion?: unknown;
    };
    if (
      expectedVersion !== undefined &&
      (!Number.isInteger(expectedVersion) || (expectedVersion as number) < 0)
    ) {
      throw new MandrillKitValidationError(
        "ERR_MK_VALIDATION_FAILED",
        "expectedVersion must be a whole number.",
        [{ field: "expectedVersion", message: "must be a whole number" }],
      );
    }
    const existed = (await credentials.describe(account)) !== undefined;
    const view = await credentials.save(
      account,
      isObject ? input : (body as MandrillSettingsInput),
      expectedVersion === undefined ? {} : { expectedVersion: expectedVersion as number },
    );
    res
      .status(existed ? 200 : 201)
      .set("Cache-Control", "no-store")
      .json(view);
  };

  const removeWebhookKey: Handler = async (req, res) => {
    const { account, credentials } = await guard(req);
    const id = String(req.params.id);
    const view = await credentials.describe(account);
    if (view === undefined || !view.webhookKeys.some((k) => k.id === id)) {
      throw new MandrillKitNotFoundError(
        WEBHOOK_KEY_ID.test(id)
          ? `Account "${account}" has no webhook key with id "${id}".`
          : `Account "${account}" has no such webhook key.`,
      );
    }
    res.set("Cache-Control", "no-store").json(await credentials.save(account, { removeWebhookKeys: [id] }));
  };

  const deleteSettings: Handler = async (req, res) => {
    const { account, credentials } = await guard(req);
    if (!(await credentials.delete(account)))
      throw new MandrillKitNotFoundError(`Account "${account}" has no Mandrill settings.`);
    res.status(204).end();
  };

  return { readSettings, writeSettings, removeWebhookKey, deleteSettings };
}

/**
 * The settings JSON API, for the host to mount behind its own auth:
 * - `GET /:account` → the admin view (secrets masked, `callbackUrl`), 404 when none;
 * - `PUT /:account` → validate + encrypt + save (omitted fields kept; secrets write-only), 422 with
 *   `fields` when invalid, 409 when `expectedVersion` is stale;
 * - `DELETE /:account` → 204, 404 when none;
 * - `DELETE /:account/webhook-keys/:id` → remove one webhook key (end of a rotation).
 *
 * Secure by default: it refuses to be created without `authorize`. Options are checked here, at
 * boot. The router reads its own JSON body whatever the host mounted before it (see `readSettingsBody`);
 * server errors go to `next(err)` with `serverErrors: "next"`.
 */
export function mandrillSettings(options: MandrillSettingsOptions): Router {
  const config = resolveSettingsOptions(options);
  const handlers = settingsHandlers(config);
  const router = express.Router();
  const run =
    (handler: Handler) =>
    (req: Request, res: Response, next: NextFunction): void => {
      handler(req, res).catch((error: unknown) => sendError(config, req, res, next, error));
    };

  router.get("/:account", run(handlers.readSettings));
  router.put(
    "/:account",
    run(async (req, res) => {
      const body = await readSettingsBody(req, config.bodyLimitBytes);
      if (body.ok) return handlers.writeSettings(req, res, body.value);
      if (isMandrillKitError(body.error, "ERR_MK_SETTINGS_BODY_CONSUMED")) {
        // The host's mount order is wrong: say so where its developers look, not only to the client.
        settingsLogger(req).warn({ code: body.error.code }, body.error.message);
      }
      res.status(body.status).set("Cache-Control", "no-store").json(errorResponse(body.error).body);
    }),
  );
  router.delete("/:account/webhook-keys/:id", run(handlers.removeWebhookKey));
  router.delete("/:account", run(handlers.deleteSettings));
  return router;
}
