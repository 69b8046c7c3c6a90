import type { Router } from "express";
import type { AppDeps } from "../../deps.js";
import { takeResult } from "../../security/session.js";
import { accountOf, errorText, formText, type PageTools } from "../page.js";
import { syncAfterRegister } from "../suppressions/sync.js";
import { publicUrlWarning } from "./callback.js";
import { registerCallbackUrl } from "./register.js";
import { sendTestWebhook, type TestWebhookOutcome } from "./test-webhook.js";
import { webhooksView } from "./views.js";

interface TestWebhookResult {
  kind: "test-webhook";
  account: string;
  value: TestWebhookOutcome;
}

/** The Webhooks page, registering the Callback URL with Mandrill, and replaying a dead-lettered event. */
export function webhooksPages(deps: AppDeps, page: PageTools): Router {
  const { store, credentials } = deps;
  const router = page.router();
  const warning = publicUrlWarning(deps.publicUrl, deps.simulator);

  router.get("/accounts/:account/webhooks", async (req, res) => {
    const account = accountOf(req);
    const [described, stats, recent, dead, quarantined, backlog] = await Promise.all([
      credentials.describe(account),
      store.inbox.stats(account),
      store.inbox.list(account, { limit: 20 }),
      store.inbox.list(account, { state: "dead", limit: 50 }),
      store.inbox.listQuarantined(account, { limit: 20 }),
      store.inbox.backlog?.(),
    ]);
    page.render(res, 200, {
      title: "Webhooks",
      account,
      section: "webhooks",
      body: webhooksView({
        account,
        callbackUrl: credentials.callbackUrl(account),
        described,
        stats,
        recent: recent.items,
        dead: dead.items,
        quarantined: quarantined.items,
        mismatches: deps.webhooks.diagnoses(account),
        csrf: page.csrf(res),
        publicUrlWarning: warning,
        testWebhook: takeResult<TestWebhookResult>(page.session(res), "test-webhook", account)?.value,
        backlog,
      }),
    });
  });

  router.post("/accounts/:account/webhooks/register", async (req, res) => {
    const account = accountOf(req);
    const raw: unknown = req.body.events;
    const events = raw === undefined ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)];
    try {
      const r = await registerCallbackUrl({ credentials, api: deps.sender.api }, account, events);
      page.flash(
        res,
        "ok",
        `${r.created ? "Registered" : "Updated"} the Callback URL with Mandrill (webhook ${r.webhookId}; events ${r.events.join(", ")}). ${r.keySaved ? `Saved its key ${r.webhookKey}.` : `Its key ${r.webhookKey} was already saved.`} ${await syncAfterRegister(deps, account)}`,
      );
    } catch (error) {
      page.flash(res, "error", `Could not register the Callback URL: ${errorText(error)}`);
    }
    page.redirect(res, `/accounts/${account}/webhooks`);
  });

  router.post("/accounts/:account/webhooks/test", async (req, res) => {
    const account = accountOf(req);
    const value = await sendTestWebhook(credentials, account);
    page.session(res).result = { kind: "test-webhook", account, value } satisfies TestWebhookResult;
    page.redirect(res, `/accounts/${account}/webhooks#test-webhook-result`);
  });

  router.post("/accounts/:account/webhooks/replay", async (req, res) => {
    const account = accountOf(req);
    const key = formText(req, "key") ?? "";
    const ok = key !== "" && (await deps.webhooks.replay(account, key));
    page.flash(res, ok ? "ok" : "error", ok ? "The event will run again." : "No such event.");
    page.redirect(res, `/accounts/${account}/webhooks`);
  });
  return router;
}
