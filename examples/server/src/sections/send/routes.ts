import { MandrillKitSendError } from "@mandrill-kit/core";
import type { NextFunction, Request, Response, Router } from "express";
import type { AppDeps } from "../../deps.js";
import { TooManyRequestsError } from "../../security/rate-limit.js";
import { takeResult } from "../../security/session.js";
import { accountOf, formText, type PageTools, problemText } from "../page.js";
import { MAX_RECIPIENTS, parseRecipients } from "./message.js";
import { type LastSend, sendView } from "./views.js";

interface SendPageResult extends LastSend {
  kind: "send";
  account: string;
}

/** The demo Send page: a host route calling `req.mandrill.send(account, message)`. */
export function sendPages(deps: AppDeps, page: PageTools): Router {
  const router = page.router();
  const back = (account: string) => `/accounts/${account}/send`;

  router.get("/accounts/:account/send", (req, res) => {
    const account = accountOf(req);
    const last = takeResult<SendPageResult>(page.session(res), "send", account);
    page.render(res, 200, {
      title: "Send",
      account,
      section: "send",
      body: sendView(account, page.csrf(res), last),
    });
  });

  router.post(
    "/accounts/:account/send",
    deps.limits.send,
    async (req: Request, res: Response) => {
      const account = accountOf(req);
      const toText = formText(req, "to") ?? "";
      const to = parseRecipients(toText);
      const subject = formText(req, "subject")?.trim() || "Hello";
      const text = formText(req, "text") ?? "";
      const refuse = (message: string) =>
        page.render(res, 422, {
          title: "Send",
          account,
          section: "send",
          body: sendView(account, page.csrf(res), undefined, {
            to: toText,
            subject: formText(req, "subject") ?? "",
            text,
            error: { field: "to", message },
          }),
        });
      if (to.length === 0 || req.mandrill === undefined) return refuse("must name at least one recipient.");
      if (to.length > MAX_RECIPIENTS) return refuse(`must name at most ${MAX_RECIPIENTS} recipients.`);
      const result = (value: LastSend["value"], error: string | null): SendPageResult => ({
        kind: "send",
        account,
        to: toText,
        subject,
        text,
        value,
        error,
      });
      try {
        page.session(res).result = result(
          await req.mandrill.send(account, { to, subject, text: text || subject }),
          null,
        );
      } catch (error) {
        if (error instanceof MandrillKitSendError)
          page.session(res).result = result(error.result, error.message);
        else page.flash(res, "error", problemText(error));
      }
      page.redirect(res, back(account));
    },
    function sendLimited(error: unknown, req: Request, res: Response, next: NextFunction) {
      if (!(error instanceof TooManyRequestsError)) return next(error);
      page.flash(res, "error", error.message);
      page.redirect(res, back(accountOf(req)));
    },
  );
  return router;
}
