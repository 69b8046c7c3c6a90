import { normalizeEmail } from "@mandrill-kit/core";
import type { AccountState } from "../account-state.js";
import { MandrillApiError, validationError } from "../api-error.js";
import { emit } from "../context.js";
import { blacklistEvent, denylist, isExpired, listRejectJson, undenylist } from "../denylist.js";
import { type ApiHandler, optionalParam, requireString } from "./api-call.js";

/** The `email` parameter, normalised. */
export function emailParam(params: Record<string, unknown>): string {
  const raw = requireString(params, "email");
  const email = normalizeEmail(raw);
  if (email === undefined) throw validationError(`email "${raw}": email address is invalid`);
  return email;
}

/** The `subaccount` parameter, which must exist when given. */
export function subaccountParam(account: AccountState, params: Record<string, unknown>): string | null {
  const subaccount = optionalParam(params, "subaccount");
  if (subaccount !== null && !account.subaccounts.has(subaccount)) {
    throw new MandrillApiError("Unknown_Subaccount", `No subaccount exists with the id '${subaccount}'`);
  }
  return subaccount;
}

/** `rejects/add`: a manual (`custom`) entry that never expires; no effect on an allowlisted address. */
export const add: ApiHandler = ({ ctx, account, params }) => {
  const email = emailParam(params);
  const subaccount = subaccountParam(account, params);
  const now = ctx.now();
  const change = denylist(
    account,
    { email, reason: "custom", detail: optionalParam(params, "comment"), sender: null, subaccount },
    now,
  );
  if (change !== undefined) {
    emit(ctx, account, "blacklist", blacklistEvent(change.action, change.entry, now), {
      messageId: null,
      email,
    });
  }
  return { email, added: change !== undefined };
};

/** `rejects/list`: up to 1000 entries; expired ones only with `include_expired` (docs/mandrill.md#api-methods-the-kit-uses and docs/mandrill.md#rejection-denylist). */
export const list: ApiHandler = ({ ctx, account, params }) => {
  const prefix = optionalParam(params, "email")?.toLowerCase() ?? null;
  const subaccount = subaccountParam(account, params);
  const now = ctx.now();
  return account.rejects
    .filter(
      (e) =>
        (params.include_expired === true || !isExpired(e, now)) &&
        (prefix === null || e.email.startsWith(prefix)) &&
        (subaccount === null || e.subaccount === subaccount),
    )
    .slice(0, 1000)
    .map((e) => listRejectJson(e, now));
};

/** `rejects/delete`: `Invalid_Reject` when the address is not listed. */
export const remove: ApiHandler = ({ ctx, account, params }) => {
  const email = emailParam(params);
  const subaccount = subaccountParam(account, params);
  const now = ctx.now();
  const removed = undenylist(account, email, subaccount);
  if (removed.length === 0) {
    throw new MandrillApiError("Invalid_Reject", `Email address ${email} is not on the rejection list`);
  }
  for (const entry of removed) {
    emit(ctx, account, "blacklist", blacklistEvent("remove", entry, now), { messageId: null, email });
  }
  return { email, deleted: true, subaccount };
};
