import { createHmac, randomBytes } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { cookie, FORM_EXPIRED, readCookie, safeEqual } from "./session.js";

/** Options of {@link createLoginCsrf}. */
export interface LoginCsrfOptions {
  /** Signs the tokens. @default random per process */
  secret?: string;
  /** How long a login form stays usable. @default 2 hours */
  ttlMs?: number;
  /** Send the cookie over HTTPS only. */
  secure: boolean;
}

/**
 * CSRF protection for the login form, which is served before any session exists: a signed double-submit
 * token. The browser keeps a random nonce in an HttpOnly cookie; the form carries HMAC(secret, nonce).
 * Nothing is stored on the server, so anonymous `GET /login` requests cost no memory, and a nonce planted
 * by another site is useless without the matching HMAC.
 */
export interface LoginCsrf {
  /** The token for the form (sets the nonce cookie when the request has none). */
  issue(req: Request, res: Response): string;
  /** Middleware: a POST whose token does not match its nonce cookie gets 403. */
  check(): (req: Request, res: Response, next: NextFunction) => void;
}

const COOKIE = "mk_login";
const NONCE = /^[A-Za-z0-9_-]{32}$/;

/** Creates the login form's stateless CSRF check. */
export function createLoginCsrf(options: LoginCsrfOptions): LoginCsrf {
  const secret = options.secret ?? randomBytes(32).toString("base64url");
  const maxAgeSeconds = Math.floor((options.ttlMs ?? 2 * 60 * 60 * 1000) / 1000);
  const tokenFor = (nonce: string) =>
    createHmac("sha256", secret).update(`login:${nonce}`).digest("base64url");
  const nonceOf = (req: Request) => {
    const value = readCookie(req.headers.cookie, COOKIE);
    return value !== undefined && NONCE.test(value) ? value : undefined;
  };

  return {
    issue(req, res) {
      let nonce = nonceOf(req);
      if (nonce === undefined) {
        nonce = randomBytes(24).toString("base64url");
        res.append(
          "Set-Cookie",
          cookie(COOKIE, nonce, { maxAgeSeconds, secure: options.secure, path: "/login" }),
        );
      }
      return tokenFor(nonce);
    },
    check() {
      return function loginCsrfCheck(req: Request, res: Response, next: NextFunction): void {
        const nonce = nonceOf(req);
        const token = (req.body as Record<string, unknown> | undefined)?._csrf;
        if (nonce === undefined || typeof token !== "string" || !safeEqual(token, tokenFor(nonce))) {
          res.status(403).type("text/plain").send(FORM_EXPIRED);
          return;
        }
        next();
      };
    },
  };
}
