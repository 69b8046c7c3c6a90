import {
  type Clock,
  isMandrillKitError,
  type Logger,
  MandrillKitConfigError,
  type Store,
  silentLogger,
  systemClock,
} from "@mandrill-kit/core";
import { checkOptions, componentLogger, findKitContext } from "@mandrill-kit/core/plugin";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import {
  DEFAULT_UNSUBSCRIBE_MAX_AGE_MS,
  type UnsubscribeClaim,
  verifyUnsubscribeToken,
} from "./unsubscribe-token.js";

/** Options of {@link mandrillUnsubscribe}. */
export interface MandrillUnsubscribeOptions {
  /** The same secret the sender signs links with (`unsubscribe.secret`). */
  secret: string;
  /** @default the kit's store */
  store?: Store;
  /** Where the router answers (mount it at the app root). @default "/unsubscribe/mandrill" */
  path?: string;
  /** Shown on the pages. @default "this sender" */
  senderName?: string;
  /** @default the kit's logger */
  logger?: Logger;
  /** Links older than this (from when the mail was sent) are refused with 410. @default one year */
  maxAgeMs?: number;
  /** @default systemClock */
  clock?: Clock;
}

const OPTION_NAMES = ["secret", "store", "path", "senderName", "logger", "maxAgeMs", "clock"] as const;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;
}

/** Answers with one of the router's pages (never cached: each is about one person's address). */
function sendPage(res: Response, status: number, title: string, body: string): void {
  res.status(status).set("Cache-Control", "no-store").type("html").send(page(title, body));
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page for a link that does not verify: 410 when it expired, 400 when forged or cut. */
function refusedLink(res: Response, error: unknown, changed: string): void {
  if (isMandrillKitError(error, "ERR_MK_UNSUBSCRIBE_EXPIRED")) {
    const body = `<p>This unsubscribe link has expired.${changed} Use the link in a recent email, or reply to the email to unsubscribe.</p>`;
    sendPage(res, 410, "Link expired", body);
    return;
  }
  const body = `<p>This unsubscribe link is not valid (it may have been cut short).${changed} Reply to the email to unsubscribe.</p>`;
  sendPage(res, 400, "Link not valid", body);
}

function checkRouterOptions(options: MandrillUnsubscribeOptions): MandrillUnsubscribeOptions {
  const o = checkOptions(
    "mandrillUnsubscribe",
    options,
    OPTION_NAMES,
  ) as unknown as MandrillUnsubscribeOptions;
  const invalid = (option: string, message: string) =>
    new MandrillKitConfigError("ERR_MK_CONFIG_INVALID", option, `mandrillUnsubscribe() ${option} ${message}`);
  if (typeof o.secret !== "string" || o.secret.length < 32)
    throw invalid("secret", "must be the sender's unsubscribe secret (at least 32 characters).");
  if (o.maxAgeMs !== undefined && (typeof o.maxAgeMs !== "number" || !(o.maxAgeMs > 0)))
    throw invalid(
      "maxAgeMs",
      `must be a positive number of milliseconds; received ${JSON.stringify(o.maxAgeMs)}.`,
    );
  if (o.clock !== undefined && typeof o.clock?.now !== "function")
    throw invalid("clock", "must be an object with now().");
  if (o.path !== undefined && (typeof o.path !== "string" || !o.path.startsWith("/")))
    throw invalid("path", `must start with "/"; received ${JSON.stringify(o.path)}.`);
  return o;
}

/**
 * The one-click unsubscribe endpoint (RFC 8058) for links the sender adds in `"one-click"` mode:
 * - `POST <path>/:token` (mail clients send `List-Unsubscribe=One-Click`; the page's button too) →
 *   the address is suppressed for that account (reason `unsub`, source `one-click`), 200;
 * - `GET <path>/:token` → a confirmation page with a button; it never unsubscribes by itself, so link
 *   scanners and previews cannot unsubscribe anyone.
 * Forged or altered tokens get 400, links older than `maxAgeMs` 410; neither changes anything.
 * A server-side failure (no store, the store failing) goes to `next(error)`: the host's error handler
 * answers and its APM sees it.
 */
export function mandrillUnsubscribe(options: MandrillUnsubscribeOptions): Router {
  const o = checkRouterOptions(options);
  const verify = { maxAgeMs: o.maxAgeMs ?? DEFAULT_UNSUBSCRIBE_MAX_AGE_MS, clock: o.clock ?? systemClock };
  const path = (o.path ?? "/unsubscribe/mandrill").replace(/\/+$/, "");
  const name = escapeHtml(o.senderName ?? "this sender");
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: "2kb" });

  router.get(`${path}/:token`, (req: Request, res: Response) => {
    let claim: UnsubscribeClaim;
    try {
      claim = verifyUnsubscribeToken(o.secret, String(req.params.token), verify);
    } catch (error) {
      refusedLink(res, error, "");
      return;
    }
    sendPage(
      res,
      200,
      "Unsubscribe",
      `<p>Stop emails from ${name} to <strong>${escapeHtml(claim.email)}</strong>?</p><form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
    );
  });

  router.post(`${path}/:token`, form, (req: Request, res: Response, next: NextFunction) => {
    const context = findKitContext(req);
    const store = o.store ?? context?.store;
    const log = componentLogger(o.logger ?? context?.logger ?? silentLogger, { component: "unsubscribe" });
    let claim: UnsubscribeClaim;
    try {
      claim = verifyUnsubscribeToken(o.secret, String(req.params.token), verify);
    } catch (error) {
      refusedLink(res, error, " Nothing was changed.");
      return;
    }
    if (store === undefined) {
      next(
        new MandrillKitConfigError(
          "ERR_MK_KIT_NOT_MOUNTED",
          "store",
          "mandrillUnsubscribe() has no store: mount mandrillKit() before it or pass { store }.",
        ),
      );
      return;
    }
    const detail =
      claim.correlationId === null
        ? "one-click unsubscribe"
        : `one-click unsubscribe (send ${claim.correlationId})`;
    store.suppressions
      .add({ account: claim.account, email: claim.email, reason: "unsub", source: "one-click", detail })
      .then(() => {
        log.info({ account: claim.account }, "one-click unsubscribe recorded");
        sendPage(
          res,
          200,
          "You are unsubscribed",
          `<p><strong>${escapeHtml(claim.email)}</strong> will not get these emails from ${name} any more.</p>`,
        );
      })
      .catch((error: unknown) => {
        log.error(
          { account: claim.account, code: isMandrillKitError(error) ? error.code : undefined },
          "could not record an unsubscribe",
        );
        next(error);
      });
  });
  return router;
}
