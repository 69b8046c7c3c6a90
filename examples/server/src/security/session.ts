import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { LRUCache } from "lru-cache";

/** A message shown once on the next page. */
export interface Flash {
  kind: "ok" | "error" | "info";
  text: string;
}

/**
 * A logged-in browser session, kept in memory (lost on restart: people log in again). Sessions exist
 * only after a successful login, so requests without the admin token never create one.
 */
export interface Session {
  id: string;
  /** Bound to the session; every form POST must carry it. */
  csrf: string;
  expiresAt: number;
  flash: Flash[];
  /** A page's result to show once after its redirect (test email, send…), see {@link takeResult}. */
  result?: unknown;
  /**
   * Secrets typed into a settings form that was shown again (after a test or an error): kept here,
   * in memory, never sent back to the browser; the form carries only `nonce`.
   */
  pendingSecrets?: { account: string; nonce: string; at: number; apiKey?: string; webhookKey?: string };
}

/** Options of {@link createSessions}. */
export interface SessionOptions {
  /** Signs the cookie. @default random per process */
  secret?: string;
  /** @default 8 hours */
  ttlMs?: number;
  /** Sessions kept at most; beyond it the least recently used one is logged out. @default 10_000 */
  maxSessions?: number;
  /** Send the cookie over HTTPS only (when the public URL is https). */
  secure: boolean;
}

const COOKIE = "mk_session";

/** Constant-time comparison of two strings (hashed first, so lengths do not leak either). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** One cookie's value from a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A `Set-Cookie` value: HttpOnly and SameSite=Strict always, Secure when asked. */
export function cookie(
  name: string,
  value: string,
  o: { maxAgeSeconds: number; secure: boolean; path?: string },
) {
  return `${name}=${value}; Path=${o.path ?? "/"}; HttpOnly; SameSite=Strict; Max-Age=${o.maxAgeSeconds}${o.secure ? "; Secure" : ""}`;
}

/** The text of the 403 answered to a form POST without a valid CSRF token. */
export const FORM_EXPIRED =
  "This form has expired or did not come from this site. Go back, reload the page and try again.";

/** In-memory sessions with signed, HttpOnly, SameSite=Strict cookies and session-bound CSRF tokens. */
export interface Sessions {
  /** The request's session, or `undefined` (no cookie, bad signature, expired, evicted). */
  load(req: Request): Session | undefined;
  /** Replaces the request's session (if any) by a fresh one (no session fixation). */
  login(req: Request, res: Response): Session;
  logout(req: Request, res: Response): void;
  /** Middleware: a form POST without the session's CSRF token gets 403. */
  csrf(): (req: Request, res: Response, next: NextFunction) => void;
  readonly size: number;
}

/** Creates the session store: an LRU with a size cap, entries expiring after `ttlMs`. */
export function createSessions(options: SessionOptions): Sessions {
  const secret = options.secret ?? randomBytes(32).toString("base64url");
  const ttlMs = options.ttlMs ?? 8 * 60 * 60 * 1000;
  const sessions = new LRUCache<string, Session>({ max: options.maxSessions ?? 10_000, ttl: ttlMs });

  const sign = (id: string) => createHmac("sha256", secret).update(id).digest("base64url");
  const setCookie = (res: Response, value: string, maxAgeSeconds: number) =>
    res.append("Set-Cookie", cookie(COOKIE, value, { maxAgeSeconds, secure: options.secure }));

  function load(req: Request): Session | undefined {
    const value = readCookie(req.headers.cookie, COOKIE);
    if (value === undefined) return undefined;
    const dot = value.lastIndexOf(".");
    if (dot <= 0) return undefined;
    const id = value.slice(0, dot);
    if (!safeEqual(value.slice(dot + 1), sign(id))) return undefined;
    return sessions.get(id);
  }

  return {
    load,
    login(req, res) {
      const old = load(req);
      if (old !== undefined) sessions.delete(old.id);
      const session: Session = {
        id: randomBytes(24).toString("base64url"),
        csrf: randomBytes(24).toString("base64url"),
        expiresAt: Date.now() + ttlMs,
        flash: [],
      };
      sessions.set(session.id, session);
      setCookie(res, `${session.id}.${sign(session.id)}`, Math.floor(ttlMs / 1000));
      return session;
    },
    logout(req, res) {
      const old = load(req);
      if (old !== undefined) sessions.delete(old.id);
      setCookie(res, "", 0);
    },
    csrf() {
      return function csrfCheck(req: Request, res: Response, next: NextFunction): void {
        if (req.method !== "POST") {
          next();
          return;
        }
        const session = load(req);
        const token = (req.body as Record<string, unknown> | undefined)?._csrf;
        if (session === undefined || typeof token !== "string" || !safeEqual(token, session.csrf)) {
          res.status(403).type("text/plain").send(FORM_EXPIRED);
          return;
        }
        next();
      };
    },
    get size() {
      return sessions.size;
    },
  };
}

/** The session's pending result of `kind` for `account`, removed so it shows once. */
export function takeResult<T extends { kind: string; account: string }>(
  session: Session,
  kind: T["kind"],
  account: string,
): T | undefined {
  const result = session.result as Partial<T> | undefined;
  if (result?.kind !== kind || result.account !== account) return undefined;
  session.result = undefined;
  return result as T;
}
