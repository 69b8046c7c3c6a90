import express, { type NextFunction, type Request, type Response, Router } from "express";
import type { AppDeps } from "./deps.js";
import { clientError } from "./request-errors.js";
import { accountsPages } from "./sections/accounts/routes.js";
import { authPages, requireLogin } from "./sections/auth/routes.js";
import { diagnosticsPages } from "./sections/diagnostics/routes.js";
import { pageTools } from "./sections/page.js";
import { sendPages } from "./sections/send/routes.js";
import { settingsPages } from "./sections/settings/routes.js";
import { suppressionsPages } from "./sections/suppressions/routes.js";
import { webhooksPages } from "./sections/webhooks/routes.js";
import { TooManyRequestsError } from "./security/rate-limit.js";

function pageErrors(deps: AppDeps) {
  return function pageErrorHandler(error: unknown, _req: Request, res: Response, next: NextFunction): void {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (error instanceof TooManyRequestsError) {
      res
        .status(429)
        .set("Retry-After", String(error.retryAfterSeconds))
        .type("text/plain")
        .send(error.message);
      return;
    }
    const client = clientError(error);
    if (client !== undefined) {
      res.status(client.status).type("text/plain").send(client.message);
      return;
    }
    deps.log.error({ error }, "page failed");
    res.status(500).type("text/plain").send("Something went wrong; the server log has the details.");
  };
}

/**
 * The server-rendered admin pages: logging in, then (with a session, CSRF on every form) the accounts
 * and each account's sections — settings, webhooks, suppressions, diagnostics, send.
 */
export function pagesRouter(deps: AppDeps): Router {
  const page = pageTools(deps);
  const router = Router();
  router.use(express.urlencoded({ extended: false, limit: "2mb", parameterLimit: 200 }));
  router.use(authPages(deps, page));
  router.use(requireLogin(deps));
  router.use(deps.sessions.csrf());
  router.get("/", (_req, res) => page.redirect(res, "/accounts"));
  router.use(accountsPages(deps, page));
  for (const section of [settingsPages, webhooksPages, suppressionsPages, diagnosticsPages, sendPages]) {
    router.use(section(deps, page));
  }
  router.use(pageErrors(deps));
  return router;
}
