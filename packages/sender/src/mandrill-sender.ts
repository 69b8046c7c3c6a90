import { findKitContext, MandrillKitConfigError, type SendResult } from "@mandrill-kit/core";
import type { NextFunction, Request, Response } from "express";
import type { Diagnosis } from "./diagnose.js";
import type { SendMessage } from "./message.js";
import { createSender, type Sender, type SenderOptions } from "./sender.js";
import type { TestEmailResult } from "./test-email.js";

/** What `mandrillSender()` puts on every request as `req.mandrill`. */
export interface MandrillRequestApi {
  send(account: string, message: SendMessage): Promise<SendResult>;
  sendTestEmail(account: string, to: string): Promise<TestEmailResult>;
  diagnose(account: string): Promise<Diagnosis>;
  /** The underlying sender (one per app). */
  readonly sender: Sender;
}

declare global {
  namespace Express {
    interface Request {
      /** Set by `mandrillSender()`: send mail for an account from any route. */
      mandrill?: MandrillRequestApi;
    }
  }
}

/** The middleware returned by {@link mandrillSender}. */
export interface MandrillSenderMiddleware {
  (req: Request, res: Response, next: NextFunction): void;
  /** The sender once created (at the first request, or at once with explicit dependencies). */
  readonly sender: Sender | undefined;
  /** Closes the sender's connection pools. */
  close(): Promise<void>;
}

/**
 * Express sugar: `app.use(mandrillSender())` after `mandrillKit()`, then in any route
 * `await req.mandrill.send(account, { to, subject, html })`. Options are those of `createSender`
 * (all optional with the kit mounted).
 */
export function mandrillSender(options: Omit<SenderOptions, "context"> = {}): MandrillSenderMiddleware {
  if (typeof options === "function" || (options as { headers?: unknown }).headers !== undefined) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "options",
      "Did you pass a factory without calling it? Write app.use(mandrillSender()), not app.use(mandrillSender).",
    );
  }
  let sender: Sender | undefined =
    options.store !== undefined && options.credentials !== undefined ? createSender(options) : undefined;
  let api: MandrillRequestApi | undefined;
  const middleware = function mandrillSenderMiddleware(
    req: Request,
    _res: Response,
    next: NextFunction,
  ): void {
    if (sender === undefined) {
      const context = findKitContext(req);
      try {
        sender = createSender({ ...options, ...(context === undefined ? {} : { context }) });
      } catch (error) {
        next(error);
        return;
      }
    }
    const s = sender;
    api ??= { send: s.send, sendTestEmail: s.sendTestEmail, diagnose: s.diagnose, sender: s };
    req.mandrill = api;
    next();
  } as MandrillSenderMiddleware;
  Object.defineProperty(middleware, "sender", { get: () => sender, enumerable: true });
  Object.defineProperty(middleware, "close", { value: async () => sender?.close(), enumerable: false });
  return middleware;
}
