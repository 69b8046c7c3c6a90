import type { MandrillSettingsInput, SettingsDescription } from "@mandrill-kit/credentials";
import type { TestEmailResult } from "@mandrill-kit/sender";
import { type NextFunction, type Request, type Response, Router } from "express";
import type { AppDeps } from "../../deps.js";
import { TooManyRequestsError } from "../../security/rate-limit.js";
import { takeResult } from "../../security/session.js";
import { accountOf, errorText, fieldsOf, formText, type PageTools } from "../page.js";
import { type SettingsPageState, settingsView } from "./views.js";

/** The test email's result, kept in the session for the page after the redirect. */
interface TestEmailPageResult {
  kind: "test-email";
  account: string;
  value: TestEmailResult;
}

/** The form fields shown again after a refused save (the secrets never are). */
const SHOWN_FIELDS = ["transport", "host", "port", "username", "fromEmail", "fromName", "unsubscribeMode"];

/** The submitted form without its secrets. */
function shownInput(req: Request): Record<string, string> {
  const input: Record<string, string> = {};
  for (const name of SHOWN_FIELDS) {
    const v = formText(req, name);
    if (v !== undefined) input[name] = v;
  }
  return input;
}

/** The settings form as credentials input: empty secret fields keep the stored secrets (write-only). */
function settingsInput(req: Request): MandrillSettingsInput {
  const input = shownInput(req);
  for (const secret of ["apiKey", "webhookKey"]) {
    const v = formText(req, secret)?.trim();
    if (v) input[secret] = v;
  }
  return input as MandrillSettingsInput;
}

/** Email settings: the Mandrill form (save) and "Send a test email". */
export function settingsPages(deps: AppDeps, page: PageTools): Router {
  const { credentials } = deps;
  const router = Router();

  function render(
    res: Response,
    account: string,
    described: SettingsDescription | undefined,
    status: number,
    shown?: Pick<SettingsPageState, "input" | "errors">,
  ): void {
    const testResult = takeResult<TestEmailPageResult>(page.session(res), "test-email", account)?.value;
    page.render(res, status, {
      title: "Email settings — Mandrill",
      account,
      section: "settings",
      body: settingsView({
        account,
        described,
        simulator: deps.simulator,
        csrf: page.csrf(res),
        errors: [],
        ...shown,
        testResult,
      }),
    });
  }

  router.get("/accounts/:account/settings", async (req, res) => {
    const account = accountOf(req);
    render(res, account, await credentials.describe(account), 200);
  });

  router.post("/accounts/:account/settings", async (req, res) => {
    const account = accountOf(req);
    try {
      await credentials.save(account, settingsInput(req));
    } catch (error) {
      const errors = fieldsOf(error);
      if (errors.length === 0) {
        page.flash(res, "error", errorText(error));
        return page.redirect(res, `/accounts/${account}/settings`);
      }
      const shown = { input: shownInput(req), errors };
      return render(res, account, await credentials.describe(account), 422, shown);
    }
    page.flash(res, "ok", "Saved. Secrets are stored encrypted and shown masked from now on.");
    page.redirect(res, `/accounts/${account}/settings`);
  });

  router.post(
    "/accounts/:account/test-email",
    deps.limits.testEmail,
    deps.limits.testEmailRecipient,
    async (req: Request, res: Response) => {
      const account = accountOf(req);
      const to = formText(req, "to")?.trim() ?? "";
      try {
        const value = await deps.sender.sendTestEmail(account, to);
        page.session(res).result = { kind: "test-email", account, value } satisfies TestEmailPageResult;
      } catch (error) {
        page.flash(res, "error", errorText(error));
      }
      page.redirect(res, `/accounts/${account}/settings#test-email`);
    },
    function testEmailLimited(error: unknown, req: Request, res: Response, next: NextFunction) {
      if (!(error instanceof TooManyRequestsError)) return next(error);
      page.flash(res, "error", error.message);
      page.redirect(res, `/accounts/${accountOf(req)}/settings#test-email`);
    },
  );
  return router;
}
