import { errorResponse, MandrillKitError } from "@mandrill-kit/core";
import express, { type NextFunction, type Request, type Response, Router } from "express";
import type { AppDeps } from "./deps.js";
import { clientError } from "./request-errors.js";
import { accountsApi } from "./sections/accounts/api.js";
import { diagnosticsApi } from "./sections/diagnostics/api.js";
import { sendApi } from "./sections/send/api.js";
import { settingsApi } from "./sections/settings/api.js";
import { suppressionsApi } from "./sections/suppressions/api.js";
import { syncApi } from "./sections/suppressions/sync.js";
import { webhooksApi } from "./sections/webhooks/api.js";
import { TooManyRequestsError } from "./security/rate-limit.js";
import { safeEqual } from "./security/session.js";

/** `true` when the request carries `Authorization: Bearer <ADMIN_TOKEN>`. */
export function bearerMatches(req: Request, adminToken: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  return match?.[1] !== undefined && safeEqual(match[1], adminToken);
}

function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

function apiErrors(deps: AppDeps) {
  return function apiErrorHandler(error: unknown, _req: Request, res: Response, _next: NextFunction): void {
    if (error instanceof TooManyRequestsError) {
      res
        .status(429)
        .set("Retry-After", String(error.retryAfterSeconds))
        .json(errorBody("ERR_RATE_LIMITED", error.message));
      return;
    }
    const client = clientError(error);
    if (client !== undefined) {
      res.status(client.status).json(errorBody("ERR_BAD_REQUEST", client.message));
      return;
    }
    const mapped = errorResponse(error);
    if (mapped.status >= 500 && !(error instanceof MandrillKitError))
      deps.log.error({ error }, "API request failed");
    res.status(mapped.status).json(mapped.body);
  };
}

/**
 * The JSON API under `/api` (Bearer ADMIN_TOKEN), mirroring the pages: each section's routes. Wrong
 * tokens are limited per client address before anything else runs.
 */
export function apiRouter(deps: AppDeps): Router {
  const router = Router();
  router.use(deps.limits.apiFailures, function bearerAuth(req: Request, res: Response, next: NextFunction) {
    if (!bearerMatches(req, deps.adminToken)) {
      res
        .status(401)
        .set("WWW-Authenticate", 'Bearer realm="mandrill-kit"')
        .json(errorBody("ERR_UNAUTHORIZED", "Send the admin token as Authorization: Bearer <ADMIN_TOKEN>."));
      return;
    }
    res.set("Cache-Control", "no-store");
    next();
  });
  router.use(express.json({ limit: "64kb" }));
  router.use(express.text({ type: ["text/csv", "text/plain"], limit: "2mb" }));
  for (const section of [
    accountsApi,
    settingsApi,
    webhooksApi,
    suppressionsApi,
    syncApi,
    diagnosticsApi,
    sendApi,
  ]) {
    router.use(section(deps));
  }
  router.use((_req: Request, res: Response) => {
    res.status(404).json(errorBody("ERR_NOT_FOUND", "No such API route."));
  });
  router.use(apiErrors(deps));
  return router;
}
