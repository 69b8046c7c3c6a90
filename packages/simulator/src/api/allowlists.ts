import { emit } from "../context.js";
import { allowJson, blacklistEvent, undenylist, whitelistEvent } from "../denylist.js";
import { type ApiHandler, optionalParam } from "./api-call.js";
import { emailParam } from "./rejects.js";

/** `whitelists/add` (= `allowlists/add`): also lifts any denylist entry (docs/mandrill.md#rejection-denylist). */
export const add: ApiHandler = ({ ctx, account, params }) => {
  const email = emailParam(params);
  if (account.allowlist.has(email)) return { email, added: false };
  const now = ctx.now();
  const entry = { email, detail: optionalParam(params, "comment"), createdAt: now };
  account.allowlist.set(email, entry);
  for (const removed of undenylist(account, email, null)) {
    emit(ctx, account, "blacklist", blacklistEvent("remove", removed, now), { messageId: null, email });
  }
  emit(ctx, account, "whitelist", whitelistEvent("add", entry, now), { messageId: null, email });
  return { email, added: true };
};

/** `whitelists/list`: up to 1000 entries, optionally by address or prefix. */
export const list: ApiHandler = ({ account, params }) => {
  const prefix = optionalParam(params, "email")?.toLowerCase() ?? null;
  return [...account.allowlist.values()]
    .filter((e) => prefix === null || e.email.startsWith(prefix))
    .slice(0, 1000)
    .map(allowJson);
};

/** `whitelists/delete`. */
export const remove: ApiHandler = ({ ctx, account, params }) => {
  const email = emailParam(params);
  const entry = account.allowlist.get(email);
  if (entry === undefined) return { email, deleted: false };
  account.allowlist.delete(email);
  emit(ctx, account, "whitelist", whitelistEvent("remove", entry, ctx.now()), { messageId: null, email });
  return { email, deleted: true };
};
