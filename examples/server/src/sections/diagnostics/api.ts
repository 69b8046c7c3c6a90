import { Router } from "express";
import type { AppDeps } from "../../deps.js";
import { accountParam } from "../json.js";

/** `GET /api/accounts/:account/diagnostics`: the sender's checks. */
export function diagnosticsApi(deps: AppDeps): Router {
  const router = Router();
  router.get("/accounts/:account/diagnostics", async (req, res) => {
    res.json(await deps.sender.diagnose(accountParam(req)));
  });
  return router;
}
