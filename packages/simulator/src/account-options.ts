import { checkOptions } from "@mandrill-kit/core/plugin";
import { bool, FACTORY, fail, positiveInt, stringList } from "./option-checks.js";

/**
 * What an API key does:
 * - `valid`: a live key;
 * - `test`: a test key (docs/mandrill.md#api-keys): accepted, nothing leaves, outbox entries are flagged `test`;
 * - `disabled`: a deleted or inactive key: every call answers `Invalid_Key` "Invalid API key";
 * - `ip-restricted`: a key whose account only allows some client IPs: calls from other IPs answer
 *   `Invalid_Key` "Invalid API key" (ASSUMED: docs/mandrill.md#api-keys and docs/mandrill.md#unconfirmed-behaviour leave the real answer unconfirmed).
 */
export type SimulatorKeyKind = "valid" | "test" | "disabled" | "ip-restricted";

/** One API key of a simulated account. A bare string is a `valid` key. */
export interface SimulatorKeyOptions {
  /** The key string clients send as `key` (API) or as the SMTP password. */
  key: string;
  /** @default "valid" */
  kind?: SimulatorKeyKind;
  /** For `ip-restricted` keys: client IPs allowed to use it. @default [] (every call is refused) */
  allowedIps?: string[];
}

/** A sending domain of a simulated account. A bare string is a verified domain with valid SPF and DKIM. */
export interface SimulatorDomainOptions {
  domain: string;
  /** SPF record valid. @default true */
  spf?: boolean;
  /** DKIM record valid. @default true */
  dkim?: boolean;
}

/** A stored template, in Mandrill's `templates/add` field names. */
export interface SimulatorTemplateOptions {
  /** Template name; its slug is derived from it (lower case, non-alphanumerics → `-`). */
  name: string;
  /** @default derived from `name` */
  slug?: string;
  subject?: string;
  /** The HTML, with `*|MERGE|*` tags and `mc:edit="block"` regions. */
  code?: string;
  text?: string;
  from_email?: string;
  from_name?: string;
  labels?: string[];
}

/** One simulated Mandrill account. */
export interface SimulatorAccountOptions {
  /** Identifies the account in `control` and `inspect` calls. */
  id: string;
  /** `users/info.username`. @default `${id}@example.com` */
  username?: string;
  /** API keys (also the SMTP passwords). @default [] */
  keys?: Array<string | SimulatorKeyOptions>;
  /**
   * Sending domains. A `From` address whose domain is not listed with valid SPF and DKIM makes every
   * recipient `rejected` / `unsigned` (docs/mandrill.md#send-request). Matching is exact: a subdomain must be listed
   * itself. `"any"` treats every domain as verified. @default []
   */
  domains?: Array<string | SimulatorDomainOptions> | "any";
  /** Account balance; scheduling (`send_at`) needs a positive one (docs/mandrill.md#send-request). @default 0 */
  balance?: number;
  /** Subaccount ids that exist; any other `subaccount` answers `Unknown_Subaccount`. @default [] */
  subaccounts?: string[];
  /** Stored templates for `messages/send-template`. @default [] */
  templates?: SimulatorTemplateOptions[];
  /** `users/info.reputation` (0–100). @default 75 */
  reputation?: number;
  /** `users/info.hourly_quota`. @default 250 */
  hourlyQuota?: number;
}

const ACCOUNT_NAMES = [
  "id",
  "username",
  "keys",
  "domains",
  "balance",
  "subaccounts",
  "templates",
  "reputation",
  "hourlyQuota",
] as const;
const KEY_NAMES = ["key", "kind", "allowedIps"] as const;
const DOMAIN_NAMES = ["domain", "spf", "dkim"] as const;
const TEMPLATE_NAMES = [
  "name",
  "slug",
  "subject",
  "code",
  "text",
  "from_email",
  "from_name",
  "labels",
] as const;
const KEY_KINDS: readonly SimulatorKeyKind[] = ["valid", "test", "disabled", "ip-restricted"];

/** Validates one account's options (also used by `control.addAccount`). */
export function checkAccountOptions(
  value: unknown,
  option: string,
  needsId: boolean,
): SimulatorAccountOptions {
  const given = checkOptions(
    `${FACTORY}() ${option}`,
    value,
    needsId ? ACCOUNT_NAMES : ACCOUNT_NAMES.slice(1),
  );
  if (needsId && (typeof given.id !== "string" || given.id.length === 0)) {
    fail(`${option}.id`, "must be a non-empty string", given.id);
  }
  if (given.username !== undefined && typeof given.username !== "string") {
    fail(`${option}.username`, "must be a string", given.username);
  }
  if (given.keys !== undefined) {
    if (!Array.isArray(given.keys)) fail(`${option}.keys`, "must be an array", given.keys);
    given.keys.forEach((k: unknown, i: number) => {
      checkKeyOptions(k, `${option}.keys[${i}]`);
    });
  }
  if (given.domains !== undefined && given.domains !== "any") {
    if (!Array.isArray(given.domains)) fail(`${option}.domains`, 'must be an array or "any"', given.domains);
    given.domains.forEach((d: unknown, i: number) => {
      if (typeof d === "string") {
        if (d.length === 0) fail(`${option}.domains[${i}]`, "must be a domain name", d);
        return;
      }
      const dom = checkOptions(`${FACTORY}() ${option}.domains[${i}]`, d, DOMAIN_NAMES);
      if (typeof dom.domain !== "string" || dom.domain.length === 0) {
        fail(`${option}.domains[${i}].domain`, "must be a domain name", dom.domain);
      }
      for (const flag of ["spf", "dkim"] as const) {
        if (dom[flag] !== undefined) bool(dom[flag], `${option}.domains[${i}].${flag}`);
      }
    });
  }
  if (given.balance !== undefined && (typeof given.balance !== "number" || !Number.isFinite(given.balance))) {
    fail(`${option}.balance`, "must be a number", given.balance);
  }
  if (given.subaccounts !== undefined) stringList(given.subaccounts, `${option}.subaccounts`);
  if (given.templates !== undefined) {
    if (!Array.isArray(given.templates)) fail(`${option}.templates`, "must be an array", given.templates);
    given.templates.forEach((t: unknown, i: number) => {
      const tpl = checkOptions(`${FACTORY}() ${option}.templates[${i}]`, t, TEMPLATE_NAMES);
      if (typeof tpl.name !== "string" || tpl.name.length === 0) {
        fail(`${option}.templates[${i}].name`, "must be a non-empty string", tpl.name);
      }
    });
  }
  if (given.reputation !== undefined) positiveInt(given.reputation, `${option}.reputation`, 0, 100);
  if (given.hourlyQuota !== undefined) positiveInt(given.hourlyQuota, `${option}.hourlyQuota`, 0);
  return given as unknown as SimulatorAccountOptions;
}

/** Validates one key's options (a string or an object). */
export function checkKeyOptions(value: unknown, option: string): SimulatorKeyOptions {
  if (typeof value === "string") {
    if (value.length === 0) fail(option, "must be a non-empty key", value);
    return { key: value, kind: "valid" };
  }
  const given = checkOptions(`${FACTORY}() ${option}`, value, KEY_NAMES);
  if (typeof given.key !== "string" || given.key.length === 0) {
    fail(`${option}.key`, "must be a non-empty string", given.key);
  }
  if (given.kind !== undefined && !KEY_KINDS.includes(given.kind as SimulatorKeyKind)) {
    fail(`${option}.kind`, `must be one of ${KEY_KINDS.join(", ")}`, given.kind);
  }
  if (given.allowedIps !== undefined) stringList(given.allowedIps, `${option}.allowedIps`);
  return given as unknown as SimulatorKeyOptions;
}
