import { Router } from "express";
import type { AppDeps } from "../../deps.js";
import { accountOf, errorText, fieldsOf, formText, type PageTools, problemText } from "../page.js";
import { importCsv, sendCsvExport } from "./csv.js";
import { manualSuppression, parseReason } from "./input.js";
import { type SuppressionFilters, suppressionsView } from "./views.js";

/** The Suppressions page: list and filter, add, lift, CSV export and import. */
export function suppressionsPages(deps: AppDeps, page: PageTools): Router {
  const { store } = deps;
  const router = Router();
  const back = (account: string) => `/accounts/${account}/suppressions`;

  router.get("/accounts/:account/suppressions", async (req, res) => {
    const account = accountOf(req);
    const q = req.query;
    const filters: SuppressionFilters = {
      search: typeof q.search === "string" ? q.search.trim() : "",
      reason: parseReason(q.reason),
      status: q.status === "all" || q.status === "lifted" || q.status === "expired" ? q.status : "active",
    };
    const list = await store.suppressions.list(account, {
      ...(filters.search === "" ? {} : { search: filters.search }),
      ...(filters.reason === undefined ? {} : { reason: filters.reason }),
      status: filters.status,
      limit: 500,
    });
    const count = await store.suppressions.count(account);
    page.render(res, 200, {
      title: "Suppressions",
      account,
      section: "suppressions",
      body: suppressionsView({ account, filters, items: list.items, count, csrf: page.csrf(res) }),
    });
  });

  router.post("/accounts/:account/suppressions", async (req, res) => {
    const account = accountOf(req);
    try {
      const added = await store.suppressions.add(
        manualSuppression(account, req.body as Record<string, unknown>),
      );
      page.flash(
        res,
        "ok",
        `${added.suppression.email}: ${added.status === "unchanged" ? "already suppressed for at least as long" : "suppressed"}.`,
      );
    } catch (error) {
      page.flash(res, "error", problemText(error));
    }
    page.redirect(res, back(account));
  });

  router.post("/accounts/:account/suppressions/lift", async (req, res) => {
    const account = accountOf(req);
    const email = formText(req, "email") ?? "";
    const why = formText(req, "reason")?.trim() ?? "";
    if (why === "") {
      page.flash(res, "error", "Say why the address is lifted.");
      return page.redirect(res, back(account));
    }
    try {
      const lifted = await store.suppressions.remove(account, email, {
        by: "admin",
        reason: why.slice(0, 500),
      });
      page.flash(
        res,
        lifted ? "ok" : "error",
        lifted ? `${email} can be mailed again.` : `${email} was not suppressed.`,
      );
    } catch (error) {
      page.flash(res, "error", errorText(error));
    }
    page.redirect(res, back(account));
  });

  router.get("/accounts/:account/suppressions.csv", async (req, res) => {
    const account = accountOf(req);
    await sendCsvExport(res, store, account);
  });

  router.post("/accounts/:account/suppressions/import", async (req, res) => {
    const account = accountOf(req);
    try {
      const { imported } = await importCsv(store, account, formText(req, "csv") ?? "");
      page.flash(res, "ok", `Imported ${imported} address(es).`);
    } catch (error) {
      const fields = fieldsOf(error);
      page.flash(
        res,
        "error",
        `${errorText(error)} ${fields.map((f) => `${f.field}: ${f.message}`).join("; ")}`.trim(),
      );
    }
    page.redirect(res, back(account));
  });
  return router;
}
