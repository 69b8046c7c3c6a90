import { isAccountId } from "@mandrill-kit/core";
import type { NextFunction, Request, Response, Router } from "express";
import type { AppDeps } from "../../deps.js";
import { html } from "../../views/html.js";
import { formText, type PageTools } from "../page.js";
import { accountsView } from "./views.js";

/** The accounts list, creating an account, and the id check every `/accounts/:account/…` page relies on. */
export function accountsPages(deps: AppDeps, page: PageTools): Router {
  const router = page.router();

  router.get("/accounts", async (_req, res) => {
    const list = await deps.credentials.list({ limit: 1000 });
    const rows = await Promise.all(
      list.items.map(async (a) => ({
        ...a,
        lastReceivedAt: (await deps.store.inbox.stats(a.account)).lastReceivedAt,
      })),
    );
    page.render(res, 200, { title: "Accounts", body: accountsView(rows, page.csrf(res)) });
  });

  router.post("/accounts", (req, res) => {
    const account = formText(req, "account")?.trim() ?? "";
    if (!isAccountId(account)) {
      page.flash(
        res,
        "error",
        "An account id is 1–128 letters, digits, _ - or ., starting with a letter or digit.",
      );
      return page.redirect(res, "/accounts#create");
    }
    page.redirect(res, `/accounts/${account}/settings`);
  });

  // Every /accounts/:account/... route checks the id once.
  router.use("/accounts/:account", function checkAccount(req: Request, res: Response, next: NextFunction) {
    if (!isAccountId(req.params.account)) {
      page.render(res, 404, {
        title: "No such account",
        body: html`<p><a href="/accounts">Back to the accounts</a></p>`,
      });
      return;
    }
    next();
  });

  // Delete: the first POST asks to confirm; only the confirmed one deletes (settings and secrets).
  router.post("/accounts/:account/delete", async (req, res) => {
    const account = req.params.account as string;
    if (formText(req, "confirm") !== "yes")
      return page.redirect(res, `/accounts/${account}/settings?delete=confirm#delete`);
    const deleted = await deps.credentials.delete(account);
    page.flash(
      res,
      deleted ? "ok" : "error",
      deleted ? `Deleted ${account} and its secrets.` : `${account} had no settings to delete.`,
    );
    page.redirect(res, "/accounts");
  });

  router.get("/accounts/:account", (req, res) =>
    page.redirect(res, `/accounts/${req.params.account}/settings`),
  );
  return router;
}
