/**
 * "Sync with Mandrill": imports and reconciles Mandrill's rejection denylist into the account's
 * suppression list (sender.syncDenylist, docs/design.md#mandrill-denylist-sync), on demand and once
 * after the Callback URL is registered; the drift against Mandrill's list, with a side filter.
 */
import type { DenylistSyncReport } from "@mandrill-kit/sender";
import { Router } from "express";
import type { AppDeps } from "../../deps.js";
import { accountParam, limitParam } from "../json.js";
import { accountOf, errorText, type PageTools } from "../page.js";
import { syncView } from "./sync-views.js";

/** One line for people about a sync's outcome. */
export function syncSummary(r: DenylistSyncReport): string {
  return `Synced with Mandrill: ${r.imported} imported, ${r.updated} updated, ${r.unchanged} unchanged, ${r.lifted} lifted (allowlisted), ${r.expiredSkipped} expired skipped; ${r.onlyLocal} only here, ${r.onlyMandrill} only at Mandrill.`;
}

/**
 * The sync that follows a successful registration of the Callback URL: what happened before the
 * webhook existed (the first bounces) reaches the list. Never throws: a failure is reported in words.
 */
export async function syncAfterRegister(
  deps: Pick<AppDeps, "sender" | "log">,
  account: string,
): Promise<string> {
  try {
    return syncSummary(await deps.sender.syncDenylist(account));
  } catch (error) {
    deps.log.warn({ account, error: errorText(error) }, "denylist sync after registration failed");
    return `The denylist sync after registering failed: ${errorText(error)}`;
  }
}

function sideOf(value: unknown): "local" | "mandrill" {
  return value === "mandrill" ? "mandrill" : "local";
}

/** The page and its form. */
export function syncPages(deps: AppDeps, page: PageTools): Router {
  const router = page.router();
  router.get("/accounts/:account/suppressions/sync", async (req, res) => {
    const account = accountOf(req);
    const side = sideOf(req.query.side);
    const [state, drift] = await Promise.all([
      deps.store.suppressions.mandrillSyncState(account),
      deps.store.suppressions.drift(account, { side, limit: 200 }),
    ]);
    page.render(res, 200, {
      title: "Sync with Mandrill",
      account,
      section: "suppressions",
      body: syncView({
        account,
        state,
        side,
        drift: drift.items,
        more: drift.next !== null,
        csrf: page.csrf(res),
      }),
    });
  });
  router.post("/accounts/:account/suppressions/sync", async (req, res) => {
    const account = accountOf(req);
    try {
      page.flash(res, "ok", syncSummary(await deps.sender.syncDenylist(account)));
    } catch (error) {
      page.flash(res, "error", `Could not sync with Mandrill: ${errorText(error)}`);
    }
    page.redirect(res, `/accounts/${account}/suppressions/sync`);
  });
  return router;
}

/** `POST /api/accounts/:account/suppressions/sync` → the report; `GET …/suppressions/drift?side=`. */
export function syncApi(deps: AppDeps): Router {
  const router = Router();
  router.post("/accounts/:account/suppressions/sync", async (req, res) => {
    res.json(await deps.sender.syncDenylist(accountParam(req)));
  });
  router.get("/accounts/:account/suppressions/drift", async (req, res) => {
    const id = accountParam(req);
    const [state, drift] = await Promise.all([
      deps.store.suppressions.mandrillSyncState(id),
      deps.store.suppressions.drift(id, { side: sideOf(req.query.side), limit: limitParam(req, 100) }),
    ]);
    res.json({ lastSync: state ?? null, items: drift.items, next: drift.next });
  });
  return router;
}
