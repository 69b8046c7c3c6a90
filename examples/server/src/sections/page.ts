import {
  type FieldError,
  isMandrillKitError,
  MandrillKitApiError,
  MandrillKitValidationError,
} from "@mandrill-kit/core";
import { type SmtpProblem, SmtpTransportError } from "@mandrill-kit/sender";
import { type Request, type RequestHandler, type Response, Router } from "express";
import type { AppDeps } from "../deps.js";
import type { Flash, Session } from "../security/session.js";
import type { SafeHtml } from "../views/html.js";
import { csrfField, layout, type PageOptions } from "../views/layout.js";

/** What every page route uses: rendering in the layout, the session, messages and redirects. */
export interface PageTools {
  /** Sends a whole page (no-store: pages show account data). */
  render(res: Response, status: number, o: PageOptions): void;
  /** The logged-in session (set by the login check). */
  session(res: Response): Session;
  /** The session's CSRF field, for a form. */
  csrf(res: Response): SafeHtml;
  /** A message for the next page. */
  flash(res: Response, kind: Flash["kind"], text: string): void;
  /** 303 See Other: the Post/Redirect/Get step. */
  redirect(res: Response, to: string): void;
  /**
   * A router for a section's pages: each of its routes runs the login check and the CSRF check
   * first. Only a real route sends a visitor without a session to the login page; a path no route
   * matches falls through to the 404 page, logged in or not.
   */
  router(): Router;
}

const ROUTE_METHODS = ["get", "post", "put", "patch", "delete", "all"] as const;

/** A Router whose routes (added with get, post, put, patch, delete or all) run `gate` first. */
export function gatedRouter(gate: readonly RequestHandler[]): Router {
  const router = Router();
  for (const method of ROUTE_METHODS) {
    const add = router[method].bind(router) as (path: string, ...handlers: unknown[]) => Router;
    Object.assign(router, {
      [method]: (path: string, ...handlers: unknown[]) => add(path, ...gate, ...handlers),
    });
  }
  return router;
}

/** Creates the page tools of the app; `gate` runs before every route of {@link PageTools.router}. */
export function pageTools(deps: Pick<AppDeps, "simulator">, gate: readonly RequestHandler[] = []): PageTools {
  const sessionOf = (res: Response) => res.locals.session as Session | undefined;
  const session = (res: Response) => {
    const s = sessionOf(res);
    if (s === undefined) throw new Error("this page needs a logged-in session");
    return s;
  };
  return {
    render(res, status, o) {
      const s = sessionOf(res);
      const page = layout({ ...o, simulator: deps.simulator, session: s, flash: s?.flash.splice(0) ?? [] });
      res.status(status).type("html").set("Cache-Control", "no-store").send(page.value);
    },
    session,
    csrf: (res) => csrfField(session(res).csrf),
    flash(res, kind, text) {
      session(res).flash.push({ kind, text });
    },
    redirect(res, to) {
      res.redirect(303, to);
    },
    router: () => gatedRouter(gate),
  };
}

/** The `:account` of a page route (already checked by the accounts section). */
export function accountOf(req: Request): string {
  return req.params.account as string;
}

/** A field of a form body, when it is text. */
export function formText(req: Request, name: string): string | undefined {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === "string" ? value : undefined;
}

const SETTINGS_PROBLEMS: ReadonlySet<SmtpProblem> = new Set(["auth", "sender-refused"]);

/** An error as one sentence for a page (Mandrill's hint included; internals never shown). */
export function errorText(error: unknown): string {
  // Mandrill's message already ends with its hint: said once.
  if (error instanceof MandrillKitApiError)
    return error.message.includes(error.hint) ? error.message : `${error.message} ${error.hint}`.trim();
  // A refused SMTP login or sender: the next step is in the settings, not the network (the message
  // of a network problem already says what to try).
  if (error instanceof SmtpTransportError && SETTINGS_PROBLEMS.has(error.problem))
    return `${error.message} ${error.advice}`;
  if (isMandrillKitError(error)) return error.message;
  return "Something went wrong; the server log has the details.";
}

/** The field errors of a validation error, or none. */
export function fieldsOf(error: unknown): FieldError[] {
  return error instanceof MandrillKitValidationError ? [...error.fields] : [];
}

const FIELD_WORDS: Readonly<Record<string, string>> = {
  to: "To",
  subject: "Subject",
  text: "Text",
  fromEmail: "From address",
  fromName: "From name",
  email: "Address",
  expiresAt: "Until",
};

/** A field name as people read it: `to[3].email` → "Recipient 4", `fromEmail` → "From address". */
export function fieldWords(field: string): string {
  const recipient = /^to\[(\d+)\]/.exec(field);
  if (recipient !== null) return `Recipient ${Number(recipient[1]) + 1}`;
  return FIELD_WORDS[field] ?? field;
}

/** A validation error's fields as one line (`Label message; …`), or the error's text. */
export function problemText(error: unknown): string {
  const fields = fieldsOf(error);
  return fields.length > 0
    ? fields.map((f) => `${fieldWords(f.field)} ${f.message}`).join("; ")
    : errorText(error);
}
