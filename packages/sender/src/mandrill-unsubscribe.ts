import {
  checkOptions,
  componentLogger,
  findKitContext,
  isMandrillKitError,
  type Logger,
  MandrillKitConfigError,
  type Store,
  silentLogger,
} from "@mandrill-kit/core";
import express, { type Request, type Response, type Router } from "express";
import { verifyUnsubscribeToken } from "./unsubscribe-token.js";

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
}

const OPTION_NAMES = ["secret", "store", "path", "senderName", "logger"] as const;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The one-click unsubscribe endpoint (RFC 8058) for links the sender adds in `"one-click"` mode:
 * - `POST <path>/:token` (mail clients send `List-Unsubscribe=One-Click`; the page's button too) →
 *   the address is suppressed for that account (reason `unsub`, source `one-click`), 200;
 * - `GET <path>/:token` → a confirmation page with a button; it never unsubscribes by itself, so link
 *   scanners and previews cannot unsubscribe anyone.
 * Forged or altered tokens get 400 and change nothing.
 */
export function mandrillUnsubscribe(options: MandrillUnsubscribeOptions): Router {
  const o = checkOptions(
    "mandrillUnsubscribe",
    options,
    OPTION_NAMES,
  ) as unknown as MandrillUnsubscribeOptions;
  if (typeof o.secret !== "string" || o.secret.length < 32) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "secret",
      "mandrillUnsubscribe() secret must be the sender's unsubscribe secret (at least 32 characters).",
    );
  }
  const path = o.path ?? "/unsubscribe/mandrill";
  const name = escapeHtml(o.senderName ?? "this sender");
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: "2kb" });

  router.get(`${path}/:token`, (req: Request, res: Response) => {
    try {
      const claim = verifyUnsubscribeToken(o.secret, String(req.params.token));
      res
        .status(200)
        .set("Cache-Control", "no-store")
        .type("html")
        .send(
          page(
            "Unsubscribe",
            `<p>Stop emails from ${name} to <strong>${escapeHtml(claim.email)}</strong>?</p><form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
          ),
        );
    } catch {
      res
        .status(400)
        .type("html")
        .send(
          page(
            "Link not valid",
            "<p>This unsubscribe link is not valid (it may have been cut short). Reply to the email to unsubscribe.</p>",
          ),
        );
    }
  });

  router.post(`${path}/:token`, form, (req: Request, res: Response) => {
    const context = findKitContext(req);
    const store = o.store ?? context?.store;
    const log = componentLogger(o.logger ?? context?.logger ?? silentLogger, { component: "unsubscribe" });
    let claim: ReturnType<typeof verifyUnsubscribeToken>;
    try {
      claim = verifyUnsubscribeToken(o.secret, String(req.params.token));
    } catch {
      res
        .status(400)
        .type("html")
        .send(page("Link not valid", "<p>This unsubscribe link is not valid. Nothing was changed.</p>"));
      return;
    }
    if (store === undefined) {
      res
        .status(500)
        .type("text/plain")
        .send("mandrillUnsubscribe() has no store: mount mandrillKit() before it or pass { store }.\n");
      return;
    }
    store.suppressions
      .add({
        account: claim.account,
        email: claim.email,
        reason: "unsub",
        source: "one-click",
        detail:
          claim.correlationId === null
            ? "one-click unsubscribe"
            : `one-click unsubscribe (send ${claim.correlationId})`,
      })
      .then(() => {
        log.info({ account: claim.account }, "one-click unsubscribe recorded");
        res
          .status(200)
          .set("Cache-Control", "no-store")
          .type("html")
          .send(
            page(
              "You are unsubscribed",
              `<p><strong>${escapeHtml(claim.email)}</strong> will not get these emails from ${name} any more.</p>`,
            ),
          );
      })
      .catch((error: unknown) => {
        log.error(
          { account: claim.account, code: isMandrillKitError(error) ? error.code : undefined },
          "could not record an unsubscribe",
        );
        res.status(503).type("text/plain").send("Could not record the unsubscribe; please try again.\n");
      });
  });
  return router;
}
