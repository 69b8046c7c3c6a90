import type { FieldError } from "@mandrill-kit/core";
import type { SettingsDescription } from "@mandrill-kit/credentials";
import type { Response, Router } from "express";
import type { AppDeps } from "../../deps.js";
import { takeResult } from "../../security/session.js";
import { html } from "../../views/html.js";
import { deleteSection } from "../accounts/views.js";
import { accountOf, type PageTools } from "../page.js";
import { publicUrlWarning } from "../webhooks/callback.js";
import { asFieldErrors, type FormState, lostErrors, type SettingsFormResult } from "./form-flow.js";
import { dropSecrets, formSecrets, keepSecrets, settingsInput, shownInput } from "./form-input.js";
import { checkKeyOnSave } from "./key-check.js";
import { settingsTestPages } from "./test-routes.js";
import { settingsView } from "./views.js";

/** Email settings: the Mandrill form (save, test connection) and "Send a test email". */
export function settingsPages(deps: AppDeps, page: PageTools): Router {
  const { credentials } = deps;
  const router = page.router();
  const warning = publicUrlWarning(deps.publicUrl, deps.simulator);

  async function render(
    res: Response,
    account: string,
    status: number,
    state: FormState = { errors: [] },
    confirmDelete = false,
  ) {
    const described: SettingsDescription | undefined = await credentials.describe(account);
    page.render(res, status, {
      title: "Email settings — Mandrill",
      account,
      section: "settings",
      body: html`${settingsView({
        account,
        described,
        simulator: deps.simulator,
        csrf: page.csrf(res),
        callbackUrl: credentials.callbackUrl(account),
        publicUrlWarning: warning,
        lastReceivedAt: (await deps.store.inbox.stats(account)).lastReceivedAt,
        ...state,
      })}${described === undefined ? "" : deleteSection(account, page.csrf(res), confirmDelete)}`,
    });
  }

  router.get("/accounts/:account/settings", async (req, res) => {
    const account = accountOf(req);
    const shown = takeResult<SettingsFormResult>(page.session(res), "settings-form", account);
    await render(res, account, 200, shown, req.query.delete === "confirm");
  });

  router.use(settingsTestPages(deps, page));

  router.post("/accounts/:account/settings", async (req, res) => {
    const account = accountOf(req);
    const session = page.session(res);
    const secrets = formSecrets(req, session, account);
    let errors: FieldError[] = lostErrors(secrets);
    if (errors.length === 0) {
      try {
        await credentials.save(account, settingsInput(req, secrets));
      } catch (error) {
        errors = asFieldErrors(error);
      }
    }
    if (errors.length > 0) {
      const kept = keepSecrets(
        session,
        account,
        secrets,
        errors.map((e) => e.field),
      );
      return render(res, account, 422, { input: shownInput(req), errors, ...kept });
    }
    dropSecrets(session, account);
    const check = await checkKeyOnSave(deps, account);
    page.flash(res, check.ok ? "ok" : "error", `Saved. ${check.message}`);
    page.redirect(res, `/accounts/${account}/settings`);
  });

  return router;
}
