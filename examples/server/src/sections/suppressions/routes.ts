import type { Request, Response, Router } from "express";
import type { AppDeps } from "../../deps.js";
import { plural } from "../../views/form.js";
import { accountOf, errorText, fieldsOf, formText, type PageTools, problemText } from "../page.js";
import { importCsv, sendCsvExport } from "./csv.js";
import { manualSuppression, parseReason } from "./input.js";
import { type SuppressionFilters, type SuppressionsPageState, suppressionsView } from "./views.js";

/** The Suppressions page: list and filter, add, lift, CSV export and import. */
export function suppressionsPages(deps: AppDeps, page: PageTools): Router {
  const { store } = deps;
  const router = page.router();
  const back = (account: string) => `/accounts/${account}/suppressions`;

  /** The page, with the add form or the CSV import shown again with its errors when refused. */
  async function render(
    req: Request,
    res: Response,
    status: number,
    refused?: SuppressionsPageState["refused"],
  ) {
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
    page.render(res, status, {
      title: "Suppressions",
      account,
      section: "suppressions",
      body: suppressionsView({ account, filters, items: list.items, count, csrf: page.csrf(res), refused }),
    });
  }

  router.get("/accounts/:account/suppressions", (req, res) => render(req, res, 200));

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
      const errors = fieldsOf(error);
      if (errors.length === 0) page.flash(res, "error", problemText(error));
      else {
        const input = Object.fromEntries(
          ["email", "reason", "detail", "expiresAt"].map((name) => [name, formText(req, name) ?? ""]),
        );
        return render(req, res, 422, { form: "add", input, errors });
      }
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
    const csv = formText(req, "csv") ?? "";
    try {
      const { imported } = await importCsv(store, account, csv);
      page.flash(res, "ok", `Imported ${plural(imported, "address", "addresses")}.`);
    } catch (error) {
      const fields = fieldsOf(error);
      const errors = fields.length > 0 ? fields : [{ field: "csv", message: errorText(error) }];
      return render(req, res, 422, { form: "import", input: { csv }, errors });
    }
    page.redirect(res, back(account));
  });
  return router;
}
