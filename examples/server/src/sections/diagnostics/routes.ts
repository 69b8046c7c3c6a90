import type { Router } from "express";
import type { AppDeps } from "../../deps.js";
import { accountOf, type PageTools } from "../page.js";
import { diagnosticsView } from "./views.js";

/** The Diagnostics page: the sender's checks, run on every visit. */
export function diagnosticsPages(deps: AppDeps, page: PageTools): Router {
  const router = page.router();
  router.get("/accounts/:account/diagnostics", async (req, res) => {
    const account = accountOf(req);
    const [diagnosis, described] = await Promise.all([
      deps.sender.diagnose(account),
      deps.credentials.describe(account),
    ]);
    page.render(res, 200, {
      title: "Diagnostics",
      account,
      section: "diagnostics",
      body: diagnosticsView(account, diagnosis, described),
    });
  });
  return router;
}
