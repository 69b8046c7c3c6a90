import {
  checkOptions,
  componentLogger,
  errorResponse,
  findKitContext,
  isMandrillKitError,
  MandrillKitConfigError,
  MandrillKitForbiddenError,
  MandrillKitNotFoundError,
  MandrillKitValidationError,
  requireAccountId,
  silentLogger,
} from "@mandrill-kit/core";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { CredentialsService } from "./credentials-service.js";
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
}

const OPTION_NAMES = ["authorize", "credentials", "bodyLimitBytes"] as const;

/**
 * The settings JSON API, for the host to mount behind its own auth:
 * - `GET /:account` → the admin view (secrets masked, `callbackUrl`), 404 when none;
 * - `PUT /:account` → validate + encrypt + save (omitted fields kept; secrets write-only), 422 with
 *   `fields` when invalid, 409 when `expectedVersion` is stale;
 * - `DELETE /:account` → 204, 404 when none;
 * - `DELETE /:account/webhook-keys/:id` → remove one webhook key (end of a rotation).
 *
 * Secure by default: it refuses to be created without `authorize`.
 */
export function mandrillSettings(options: MandrillSettingsOptions): Router {
  const o = checkOptions("mandrillSettings", options, OPTION_NAMES);
  const authorize = o.authorize;
  if (authorize !== "handled-upstream" && typeof authorize !== "function") {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_AUTH_REQUIRED",
      "authorize",
      'mandrillSettings() serves API keys\' settings, so it needs authorize: (req, account) => boolean, or authorize: "handled-upstream" when an auth middleware mounted before it already restricts access.',
    );
  }
  const limit = (o.bodyLimitBytes as number | undefined) ?? 16_384;
  if (!Number.isInteger(limit) || limit < 256) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "bodyLimitBytes",
      `mandrillSettings() bodyLimitBytes must be an integer ≥ 256; received ${JSON.stringify(limit)}.`,
    );
  }
  const explicit = o.credentials as CredentialsService | undefined;
  const router = express.Router();
  const json = express.json({ limit, type: "application/json" });

  const credentialsOf = (req: Request): CredentialsService => {
    const found = explicit ?? (findKitContext(req)?.credentials as CredentialsService | undefined);
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
    if (authorize !== "handled-upstream" && !(await (authorize as AuthorizeHook)(req, account))) {
      throw new MandrillKitForbiddenError(
        `Not allowed to manage the email settings of account "${account}".`,
      );
    }
    return { account, credentials: credentialsOf(req) };
  };

  const handle =
    (fn: (req: Request, res: Response) => Promise<void>) =>
    (req: Request, res: Response, next: NextFunction): void => {
      fn(req, res).catch((error: unknown) => sendError(req, res, next, error));
    };

  router.get(
    "/:account",
    handle(async (req, res) => {
      const { account, credentials } = await guard(req);
      const view = await credentials.describe(account);
      if (view === undefined)
        throw new MandrillKitNotFoundError(`Account "${account}" has no Mandrill settings yet.`);
      res.set("Cache-Control", "no-store").json(view);
    }),
  );

  router.put(
    "/:account",
    (req, res, next) => {
      if (req.body !== undefined && typeof req.body === "object" && !Buffer.isBuffer(req.body)) return next();
      if (!req.is("application/json")) {
        return sendError(
          req,
          res,
          next,
          new MandrillKitValidationError(
            "ERR_MK_VALIDATION_FAILED",
            "Send the settings as JSON (Content-Type: application/json).",
            [{ field: "", message: "must be JSON" }],
          ),
          415,
        );
      }
      json(req, res, (error?: unknown) => {
        if (error === undefined) return next();
        const tooLarge = (error as { type?: string }).type === "entity.too.large";
        sendError(
          req,
          res,
          next,
          new MandrillKitValidationError(
            "ERR_MK_VALIDATION_FAILED",
            tooLarge ? `The body is larger than ${limit} bytes.` : "The body is not valid JSON.",
            [{ field: "", message: tooLarge ? "is too large" : "is not valid JSON" }],
          ),
          tooLarge ? 413 : 400,
        );
      });
    },
    handle(async (req, res) => {
      const { account, credentials } = await guard(req);
      const body = (req.body ?? {}) as MandrillSettingsInput & { expectedVersion?: unknown };
      const { expectedVersion, ...input } = body;
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
        input,
        expectedVersion === undefined ? {} : { expectedVersion: expectedVersion as number },
      );
      res
        .status(existed ? 200 : 201)
        .set("Cache-Control", "no-store")
        .json(view);
    }),
  );

  router.delete(
    "/:account/webhook-keys/:id",
    handle(async (req, res) => {
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
    }),
  );

  router.delete(
    "/:account",
    handle(async (req, res) => {
      const { account, credentials } = await guard(req);
      if (!(await credentials.delete(account)))
        throw new MandrillKitNotFoundError(`Account "${account}" has no Mandrill settings.`);
      res.status(204).end();
    }),
  );

  return router;
}

function sendError(req: Request, res: Response, next: NextFunction, error: unknown, status?: number): void {
  if (res.headersSent) {
    next(error);
    return;
  }
  const { status: mapped, body } = errorResponse(error);
  const log = componentLogger(findKitContext(req)?.logger ?? silentLogger, { component: "settings" });
  if (mapped >= 500) {
    log.error(
      {
        account: typeof req.params.account === "string" ? req.params.account : undefined,
        code: isMandrillKitError(error) ? error.code : "ERR_MK_INTERNAL",
        err: error,
      },
      "settings request failed",
    );
  }
  res
    .status(status ?? mapped)
    .set("Cache-Control", "no-store")
    .json(body);
}
