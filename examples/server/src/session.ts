import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";

/** A message shown once on the next page. */
export interface Flash {
  kind: "ok" | "error" | "info";
  text: string;
}

/** A browser session, kept in memory (lost on restart: people log in again). */
export interface Session {
  id: string;
  /** Bound to the session; every form POST must carry it. */
  csrf: string;
  authenticated: boolean;
  expiresAt: number;
  flash: Flash[];
  /** Page-specific results to show once (test email, sends…). */
  result?: unknown;
}

/** Options of {@link createSessions}. */
export interface SessionOptions {
  /** Signs the cookie. @default random per process */
  secret?: string;
  /** @default 8 hours */
  ttlMs?: number;
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

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** In-memory sessions with signed, HttpOnly, SameSite=Strict cookies and session-bound CSRF tokens. */
export interface Sessions {
  /** The request's session, or `undefined` (no cookie, bad signature, expired). */
  load(req: Request): Session | undefined;
  /** The request's session, creating an anonymous one (and its cookie) when there is none. */
  ensure(req: Request, res: Response): Session;
  /** Replaces the session by a fresh authenticated one (no session fixation). */
  login(req: Request, res: Response): Session;
  logout(req: Request, res: Response): void;
  /** Middleware: a form POST without the session's CSRF token gets 403. */
  csrf(): (req: Request, res: Response, next: NextFunction) => void;
  readonly size: number;
}

/** Creates the session store. */
export function createSessions(options: SessionOptions): Sessions {
  const secret = options.secret ?? randomBytes(32).toString("base64url");
  const ttlMs = options.ttlMs ?? 8 * 60 * 60 * 1000;
  const sessions = new Map<string, Session>();

  const sign = (id: string) => createHmac("sha256", secret).update(id).digest("base64url");

  function setCookie(res: Response, value: string, maxAgeSeconds: number): void {
    res.append(
      "Set-Cookie",
      `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${options.secure ? "; Secure" : ""}`,
    );
  }

  function sweep(now: number): void {
    if (sessions.size < 1000) return;
    for (const [id, s] of sessions) if (s.expiresAt <= now) sessions.delete(id);
  }

  function create(res: Response, authenticated: boolean): Session {
    const now = Date.now();
    sweep(now);
    const session: Session = {
      id: randomBytes(24).toString("base64url"),
      csrf: randomBytes(24).toString("base64url"),
      authenticated,
      expiresAt: now + ttlMs,
      flash: [],
    };
    sessions.set(session.id, session);
    setCookie(res, `${session.id}.${sign(session.id)}`, Math.floor(ttlMs / 1000));
    return session;
  }

  function load(req: Request): Session | undefined {
    const value = readCookie(req.headers.cookie, COOKIE);
    if (value === undefined) return undefined;
    const dot = value.lastIndexOf(".");
    if (dot <= 0) return undefined;
    const id = value.slice(0, dot);
    if (!safeEqual(value.slice(dot + 1), sign(id))) return undefined;
    const session = sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAt <= Date.now()) {
      sessions.delete(id);
      return undefined;
    }
    return session;
  }

  return {
    load,
    ensure(req, res) {
      return load(req) ?? create(res, false);
    },
    login(req, res) {
      const old = load(req);
      if (old !== undefined) sessions.delete(old.id);
      return create(res, true);
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
          res
            .status(403)
            .type("text/plain")
            .send(
              "This form has expired or did not come from this site. Go back, reload the page and try again.",
            );
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
