import { type NextFunction, type Request, type Response, Router } from "express";
import type { AppDeps } from "../../deps.js";
import { TooManyRequestsError } from "../../security/rate-limit.js";
import { safeEqual } from "../../security/session.js";
import { formText, type PageTools } from "../page.js";
import { loginView } from "./views.js";

/** `true` when the login form carries the admin token (what the login limiter does not count). */
export function loginTokenMatches(req: Request, adminToken: string): boolean {
  const token = formText(req, "token")?.trim() ?? "";
  return token !== "" && safeEqual(token, adminToken);
}

/** Log in (the admin token → a session cookie) and log out. Sessions are created only here. */
export function authPages(deps: AppDeps, page: PageTools): Router {
  const { sessions, loginCsrf } = deps;
  const router = Router();

  function loginPage(req: Request, res: Response, status: number, error?: string): void {
    page.render(res, status, { title: "Log in", body: loginView(loginCsrf.issue(req, res), error) });
  }

  router.get("/login", (req, res) => {
    if (sessions.load(req) !== undefined) return page.redirect(res, "/accounts");
    loginPage(req, res, 200);
  });

  router.post(
    "/login",
    loginCsrf.check(),
    deps.limits.loginFailures,
    (req: Request, res: Response) => {
      if (!loginTokenMatches(req, deps.adminToken)) {
        deps.log.warn({ ip: req.ip }, "failed admin login");
        return loginPage(req, res, 401, "That is not the admin token.");
      }
      sessions.login(req, res);
      page.redirect(res, "/accounts");
    },
    function loginLimited(error: unknown, req: Request, res: Response, next: NextFunction) {
      if (!(error instanceof TooManyRequestsError)) return next(error);
      res.set("Retry-After", String(error.retryAfterSeconds));
      loginPage(req, res, 429, error.message);
    },
  );

  router.post("/logout", sessions.csrf(), (req, res) => {
    sessions.logout(req, res);
    page.redirect(res, "/login");
  });
  return router;
}

/** Everything after it needs a logged-in session: GETs go to the login page, other methods get 403. */
export function requireLogin(deps: Pick<AppDeps, "sessions">) {
  return function requireLoginCheck(req: Request, res: Response, next: NextFunction): void {
    const session = deps.sessions.load(req);
    if (session === undefined) {
      if (req.method === "GET" || req.method === "HEAD") res.redirect(303, "/login");
      else res.status(403).type("text/plain").send("Log in first.");
      return;
    }
    res.locals.session = session;
    next();
  };
}
