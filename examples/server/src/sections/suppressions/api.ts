import { MandrillKitNotFoundError, MandrillKitValidationError } from "@mandrill-kit/core";
import { Router } from "express";
import type { AppDeps } from "../../deps.js";
import { accountParam, afterParam, bodyOf, limitParam } from "../json.js";
import { importCsv, sendCsvExport } from "./csv.js";
import { manualSuppression, parseReason, suppressionItem } from "./input.js";

const STATUSES = ["active", "expired", "lifted", "all"] as const;

/** The suppression list of an account: list, add, lift, CSV export and import. */
export function suppressionsApi(deps: AppDeps): Router {
  const { store } = deps;
  const router = Router();

  router.get("/accounts/:account/suppressions", async (req, res) => {
    const id = accountParam(req);
    const reason = parseReason(req.query.reason);
    const status = STATUSES.find((s) => s === req.query.status);
    const page = await store.suppressions.list(id, {
      ...(reason === undefined ? {} : { reason }),
      ...(typeof req.query.search === "string" && req.query.search !== ""
        ? { search: req.query.search }
        : {}),
      ...(status === undefined ? {} : { status }),
      limit: limitParam(req, 100),
      after: afterParam(req),
    });
    res.json({ items: page.items.map(suppressionItem), next: page.next });
  });

  router.post("/accounts/:account/suppressions", async (req, res) => {
    const id = accountParam(req);
    const added = await store.suppressions.add(manualSuppression(id, bodyOf(req)));
    res
      .status(added.status === "added" ? 201 : 200)
      .json({ status: added.status, item: suppressionItem(added.suppression) });
  });

  router.get("/accounts/:account/suppressions.csv", async (req, res) => {
    const id = accountParam(req);
    await sendCsvExport(res, store, id);
  });

  router.post("/accounts/:account/suppressions.csv", async (req, res) => {
    const id = accountParam(req);
    if (typeof req.body !== "string") {
      throw new MandrillKitValidationError(
        "ERR_MK_VALIDATION_FAILED",
        "Send the CSV with Content-Type: text/csv.",
        [{ field: "csv", message: "missing" }],
      );
    }
    res.json(await importCsv(store, id, req.body));
  });

  router.delete("/accounts/:account/suppressions/:email", async (req, res) => {
    const id = accountParam(req);
    const reason =
      typeof req.query.reason === "string" && req.query.reason.trim() !== ""
        ? req.query.reason.trim()
        : "lifted through the API";
    const email = req.params.email as string;
    if (!(await store.suppressions.remove(id, email, { by: "admin-api", reason })))
      throw new MandrillKitNotFoundError(`${email} is not suppressed for "${id}".`);
    res.status(204).end();
  });
  return router;
}
