import express, { type NextFunction, type Request, type Response, Router } from "express";
import type { AppDeps } from "./deps.js";
import { clientError } from "./request-errors.js";
import { accountsPages } from "./sections/accounts/routes.js";
import { authPages, requireLogin } from "./sections/auth/routes.js";
import { diagnosticsPages } from "./sections/diagnostics/routes.js";
import { type PageTools, pageTools } from "./sections/page.js";
import { sendPages } from "./sections/send/routes.js";
import { settingsPages } from "./sections/settings/routes.js";
import { suppressionsPages } from "./sections/suppressions/routes.js";
import { syncPages } from "./sections/suppressions/sync.js";
import { webhooksPages } from "./sections/webhooks/routes.js";
import { TooManyRequestsError } from "./security/rate-limit.js";
import { html } from "./views/html.js";

/** A page for an error, in the app's frame (navigation kept when logged in). */
function errorPage(page: PageTools, res: Response, status: number, title: string, text: string): void {
  page.render(res, status, {
    title,
    body: html`<p>${text}</p><p><a href="/accounts">Go to the accounts</a></p>`,
  });
}

function pageErrors(deps: AppDeps, page: PageTools) {
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
      errorPage(
        page,
        res,
        client.status,
        client.status === 404 ? "Page not found" : "Request refused",
        client.message,
      );
      return;
    }
    deps.log.error({ error }, "page failed");
    errorPage(
      page,
      res,
      500,
      "Something went wrong",
      "Something went wrong; the server log has the details.",
    );
  };
}

/**
 * The server-rendered admin pages: logging in, then (with a session, CSRF on every form) the accounts
 * and each account's sections — settings, webhooks, suppressions, diagnostics, send.
 */
export function pagesRouter(deps: AppDeps): Router {
  // The login and CSRF checks run per route (page.router()), not for every path: an unknown path is
  // answered with the 404 page whether or not the visitor is logged in.
  const page = pageTools(deps, [requireLogin(deps), deps.sessions.csrf()]);
  const router = Router();
  router.use(express.urlencoded({ extended: false, limit: "2mb", parameterLimit: 200 }));
  router.use(authPages(deps, page));
  const home = page.router();
  home.get("/", (_req, res) => page.redirect(res, "/accounts"));
  router.use(home);
  router.use(accountsPages(deps, page));
  for (const section of [
    settingsPages,
    webhooksPages,
    suppressionsPages,
    syncPages,
    diagnosticsPages,
    sendPages,
  ]) {
    router.use(section(deps, page));
  }
  router.use(function notFound(req: Request, res: Response) {
    // No route ran its login check: a logged-in visitor still gets the navigation.
    res.locals.session ??= deps.sessions.load(req);
    errorPage(page, res, 404, "Page not found", `There is no page at ${req.path}.`);
  });
  router.use(pageErrors(deps, page));
  return router;
}
