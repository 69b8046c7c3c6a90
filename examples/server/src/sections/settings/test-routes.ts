import { isEmail } from "@mandrill-kit/core";
import type { Request, Response, Router } from "express";
import type { AppDeps } from "../../deps.js";
import { accountOf, errorText, formText, type PageTools } from "../page.js";
import { formFlow } from "./form-flow.js";
import { formSecrets, hasSettingsForm } from "./form-input.js";

/** "Send a test email" and "Test connection": they test what is in the form, saved or not, and keep it. */
export function settingsTestPages(deps: AppDeps, page: PageTools): Router {
  const router = page.router();
  const { preview, showAgain, limited } = formFlow(deps, page);

  router.post(
    "/accounts/:account/test-email",
    deps.limits.testEmail,
    deps.limits.testEmailRecipient,
    async (req: Request, res: Response) => {
      const account = accountOf(req);
      const to = formText(req, "to")?.trim() ?? "";
      const secrets = formSecrets(req, page.session(res), account);
      const anchor = "test-email-result";
      if (!hasSettingsForm(req)) {
        // The saved settings (a form posting only the recipient).
        try {
          const value = await deps.sender.sendTestEmail(account, to);
          return showAgain(
            req,
            res,
            { errors: [], testResult: { kind: "sent", value }, testTo: to },
            secrets,
            anchor,
          );
        } catch (error) {
          const testResult = { kind: "not-sent" as const, message: errorText(error) };
          return showAgain(req, res, { errors: [], testResult, testTo: to }, secrets, anchor);
        }
      }
      const previewed = await preview(req, account, secrets);
      if ("errors" in previewed) {
        const message = "the form has problems; fix the fields listed at the top, then try again.";
        const intro = "No test email was sent. Fix these first:";
        const state = {
          errors: previewed.errors,
          testResult: { kind: "not-sent" as const, message },
          testTo: to,
          intro,
        };
        return showAgain(req, res, state, secrets, anchor);
      }
      if (!isEmail(to)) {
        const errors = [{ field: "to", message: "must be an email address, such as you@example.com" }];
        const testResult = {
          kind: "not-sent" as const,
          message: "type the address to send the test email to.",
        };
        return showAgain(req, res, { errors, testResult, testTo: to }, secrets, anchor);
      }
      const value = await deps.sender.sendTestEmail(account, to, { settings: previewed.settings });
      showAgain(req, res, { errors: [], testResult: { kind: "sent", value }, testTo: to }, secrets, anchor);
    },
    limited("test-email-result"),
  );

  router.post(
    "/accounts/:account/test-connection",
    deps.limits.testEmail,
    async (req: Request, res: Response) => {
      const account = accountOf(req);
      const secrets = formSecrets(req, page.session(res), account);
      const testTo = formText(req, "to")?.trim() ?? "";
      const anchor = "connection-result";
      const previewed = await preview(req, account, secrets);
      if ("errors" in previewed) {
        const connection = {
          kind: "not-run" as const,
          message: "the form has problems; fix the fields listed at the top.",
        };
        const intro = "The connection was not tested. Fix these first:";
        return showAgain(req, res, { errors: previewed.errors, connection, testTo, intro }, secrets, anchor);
      }
      const value = await deps.sender.checkConnection(previewed.settings);
      showAgain(req, res, { errors: [], connection: { kind: "checked", value }, testTo }, secrets, anchor);
    },
    limited("connection-result"),
  );
  return router;
}
