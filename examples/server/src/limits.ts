import { isEmail } from "@mandrill-kit/core";
import type { Request } from "express";
import { bearerMatches } from "./api.js";
import type { AppDeps } from "./deps.js";
import { loginTokenMatches } from "./sections/auth/routes.js";
import {
  clientKey,
  createAuthFailureLimiter,
  createLimiter,
  type RateLimits,
  recipientKey,
} from "./security/rate-limit.js";
import { plural } from "./views/form.js";

function testEmailRecipient(req: Request): string {
  const to = (req.body as { to?: unknown } | undefined)?.to;
  return typeof to === "string" ? to.trim() : "";
}

/**
 * The app's limiters, each on its own bounded store: wrong admin tokens per client address (login form
 * and JSON API), test emails per client and account and per recipient across accounts (so several
 * accounts cannot be used to mail-bomb one address), and demo sends per client.
 */
export function createAppLimits(adminToken: string, limits: RateLimits): AppDeps["limits"] {
  return {
    loginFailures: createAuthFailureLimiter({
      ...limits.authFailures,
      succeeds: (req) => loginTokenMatches(req, adminToken),
      message: (s) => `Too many attempts. Try again in ${plural(s, "second")}.`,
    }),
    apiFailures: createAuthFailureLimiter({
      ...limits.authFailures,
      succeeds: (req) => bearerMatches(req, adminToken),
      message: (s) => `Too many wrong admin tokens from this address; try again in ${plural(s, "second")}.`,
    }),
    testEmail: createLimiter({
      ...limits.testEmail,
      key: (req) => `${clientKey(req)}|${String(req.params.account)}`,
      message: (s) => `Too many test emails. Try again in ${plural(s, "second")}.`,
    }),
    testEmailRecipient: createLimiter({
      ...limits.testEmailRecipient,
      key: (req) => recipientKey(testEmailRecipient(req)),
      skip: (req) => !isEmail(testEmailRecipient(req)),
      message: (s) => `Too many test emails to this address. Try again in ${plural(s, "second")}.`,
    }),
    send: createLimiter({
      ...limits.send,
      message: (s) => `Too many sends from this address. Try again in ${plural(s, "second")}.`,
    }),
  };
}
