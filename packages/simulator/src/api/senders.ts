import { createHash } from "node:crypto";
import { type DomainState, domainState } from "../account-state.js";
import { validationError } from "../api-error.js";
import { formatMandrillTime, formatOptionalTime } from "../mandrill-time.js";
import { type ApiHandler, requireString } from "./api-call.js";

/** A domain as `senders/domains` and `senders/check-domain` return it (docs/mandrill.md#api-methods-the-kit-uses). */
export function domainJson(d: DomainState): Record<string, unknown> {
  const check = (valid: boolean, what: string) => ({
    valid,
    valid_after: valid ? formatMandrillTime(d.createdAt) : null,
    error: valid ? null : `No valid ${what} record was found for ${d.domain}`,
  });
  return {
    domain: d.domain,
    created_at: formatMandrillTime(d.createdAt),
    last_tested_at: formatMandrillTime(d.lastTestedAt),
    spf: check(d.spf, "SPF"),
    dkim: check(d.dkim, "DKIM"),
    verified_at: formatOptionalTime(d.verifiedAt),
    valid_signing: d.spf && d.dkim,
    verify_txt_key: `mandrill_verify.${createHash("sha256").update(d.domain).digest("base64url").slice(0, 22)}`,
  };
}

function domainParam(params: Record<string, unknown>): string {
  const domain = requireString(params, "domain").toLowerCase();
  if (!/^[a-z0-9.-]+\.[a-z0-9-]+$/.test(domain))
    throw validationError(`domain "${domain}" is not a domain name`);
  return domain;
}

/** `senders/domains`: the account's sending domains. */
export const domains: ApiHandler = ({ account }) => [...account.domains.values()].map(domainJson);

/**
 * `senders/check-domain`: the domain's SPF/DKIM/verification; an unknown domain is added first (as
 * Mandrill does), unverified unless the account accepts any domain.
 */
export const checkDomain: ApiHandler = ({ ctx, account, params }) => {
  const domain = domainParam(params);
  let state = account.domains.get(domain);
  if (state === undefined) {
    const valid = account.anyDomain;
    state = domainState({ domain, spf: valid, dkim: valid }, ctx.now());
    account.domains.set(domain, state);
  }
  state.lastTestedAt = ctx.now();
  return domainJson(state);
};

/** `senders/add-domain`: adds an unverified domain (or returns the existing one). */
export const addDomain: ApiHandler = ({ ctx, account, params }) => {
  const domain = domainParam(params);
  let state = account.domains.get(domain);
  if (state === undefined) {
    state = domainState({ domain, spf: account.anyDomain, dkim: account.anyDomain }, ctx.now());
    account.domains.set(domain, state);
  }
  return domainJson(state);
};
