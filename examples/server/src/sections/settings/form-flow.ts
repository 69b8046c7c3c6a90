import type { FieldError, MandrillSettings } from "@mandrill-kit/core";
import type { NextFunction, Request, Response } from "express";
import type { AppDeps } from "../../deps.js";
import { TooManyRequestsError } from "../../security/rate-limit.js";
import { accountOf, errorText, fieldsOf, formText, type PageTools } from "../page.js";
import { type FormSecrets, formSecrets, keepSecrets, settingsInput, shownInput } from "./form-input.js";
import type { SettingsPageState } from "./views.js";

/** The form shown again after a test (kept in the session for the page after the redirect). */
export type FormState = Pick<
  SettingsPageState,
  "input" | "errors" | "pending" | "retype" | "testResult" | "connection" | "testTo" | "intro"
>;
export interface SettingsFormResult extends FormState {
  kind: "settings-form";
  account: string;
}

/** A refusal as field errors (a problem that is no field's goes to the form as a whole). */
export function asFieldErrors(error: unknown): FieldError[] {
  const fields = fieldsOf(error);
  return fields.length > 0 ? fields : [{ field: "", message: errorText(error) }];
}

/** Secrets typed earlier whose copy is gone: typed again, or left empty to keep the saved ones. */
export function lostErrors(secrets: FormSecrets): FieldError[] {
  return secrets.lost.map((field) => ({
    field,
    message:
      "you typed earlier is no longer kept (the form was open too long): type it again, or leave it empty to keep the saved one",
  }));
}

/** The steps "Send a test email" and "Test connection" share: preview the form, show it again. */
export function formFlow(deps: Pick<AppDeps, "credentials">, page: PageTools) {
  const { credentials } = deps;
  /** The form's settings as they would be saved, or the field errors refusing them. */
  async function preview(
    req: Request,
    account: string,
    secrets: FormSecrets,
  ): Promise<{ settings: MandrillSettings } | { errors: FieldError[] }> {
    if (secrets.lost.length > 0) return { errors: lostErrors(secrets) };
    try {
      return { settings: await credentials.preview(account, settingsInput(req, secrets)) };
    } catch (error) {
      return { errors: asFieldErrors(error) };
    }
  }

  /** Keeps the form (typed secrets server-side) and shows it again after the redirect. */
  function showAgain(req: Request, res: Response, state: FormState, secrets: FormSecrets, anchor: string) {
    const account = accountOf(req);
    const session = page.session(res);
    const kept = keepSecrets(
      session,
      account,
      secrets,
      state.errors.map((e) => e.field),
    );
    session.result = {
      kind: "settings-form",
      account,
      input: shownInput(req),
      ...state,
      pending: kept.pending,
      retype: kept.retype,
    } satisfies SettingsFormResult;
    page.redirect(res, `/accounts/${account}/settings#${anchor}`);
  }

  function limited(anchor: string) {
    return function testLimited(error: unknown, req: Request, res: Response, next: NextFunction) {
      if (!(error instanceof TooManyRequestsError)) return next(error);
      const account = accountOf(req);
      const message = `${error.message} Your edits are kept below.`;
      const testTo = formText(req, "to")?.trim() ?? "";
      const state: FormState =
        anchor === "connection-result"
          ? { errors: [], connection: { kind: "not-run", message }, testTo }
          : { errors: [], testResult: { kind: "not-sent", message }, testTo };
      showAgain(req, res, state, formSecrets(req, page.session(res), account), anchor);
    };
  }

  return { preview, showAgain, limited };
}
