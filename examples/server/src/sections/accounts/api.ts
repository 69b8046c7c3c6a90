import { Router } from "express";
import type { AppDeps } from "../../deps.js";
import { afterParam, limitParam } from "../json.js";

/** `GET /api/accounts`: the accounts with settings. */
export function accountsApi(deps: AppDeps): Router {
  const router = Router();
  router.get("/accounts", async (req, res) => {
    const page = await deps.credentials.list({ limit: limitParam(req, 100), after: afterParam(req) });
    res.json({
      items: page.items.map((s) => ({ ...s, updatedAt: new Date(s.updatedAt).toISOString() })),
      next: page.next,
    });
  });
  return router;
}
