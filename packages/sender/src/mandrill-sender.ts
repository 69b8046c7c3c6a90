import type { SendResult } from "@mandrill-kit/core";
import { findKitContext } from "@mandrill-kit/core/plugin";
import type { NextFunction, Request, Response } from "express";
import type { Diagnosis } from "./diagnose.js";
import type { SendMessage } from "./message.js";
import { resolveSenderOptions, SENDER_OPTION_NAMES, type SenderOptions } from "./options.js";
import { type Sender, startSender } from "./sender.js";
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

const OPTION_NAMES = SENDER_OPTION_NAMES.filter((name) => name !== "context");

/**
 * Express sugar: `app.use(mandrillSender())` after `mandrillKit()`, then in any route
 * `await req.mandrill.send(account, { to, subject, html })`. Options are those of `createSender`
 * (all optional with the kit mounted), checked now: a typo fails at boot. The sender is created at
 * the first request (from the kit's context), or at once when `store` and `credentials` are given;
 * when it cannot be (the kit is not mounted) the request goes to `next(error)`, so the host's
 * error handler and APM see it.
 */
export function mandrillSender(options: Omit<SenderOptions, "context"> = {}): MandrillSenderMiddleware {
  const config = resolveSenderOptions("mandrillSender", options, OPTION_NAMES);
  let sender: Sender | undefined =
    options.store !== undefined && options.credentials !== undefined
      ? startSender(config, undefined)
      : undefined;
  let api: MandrillRequestApi | undefined;
  const middleware = function mandrillSenderMiddleware(
    req: Request,
    _res: Response,
    next: NextFunction,
  ): void {
    if (sender === undefined) {
      try {
        sender = startSender(config, findKitContext(req));
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
