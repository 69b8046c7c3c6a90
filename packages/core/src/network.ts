import ipaddr from "ipaddr.js";
import { MandrillKitConfigError, MandrillKitError } from "./errors.js";
import { didYouMean } from "./options.js";
import { MANDRILL_SMTP_PORTS } from "./settings.js";

/**
 * Where the kit may connect. Account settings are tenant input (the SMTP host and port); without a
 * policy a tenant could point them at the host's own network (SSRF). By default the kit connects
 * only to public unicast addresses and Mandrill's SMTP ports.
 */

/** Resolves a host name to every address it has (like `dns.promises.lookup(host, { all: true })`). */
export type HostLookup = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

/**
 * The host operator's network policy (`network` option of the sender and the credentials service).
 * It is the operator's opt-out, never derived from tenant input.
 */
export interface NetworkPolicyOptions {
  /**
   * Allow connections to loopback, private, link-local, CGNAT and other non-public addresses
   * (a local simulator, a development relay). Exposes every service on those networks to whoever can
   * edit an account's settings: prefer `allow`. @default false
   */
  allowPrivate?: boolean;
  /**
   * Host names (exact, case-insensitive) and IP addresses or CIDR ranges (`"10.1.2.0/24"`) the kit may
   * connect to although they are not public. A name allows that name whatever it resolves to.
   * An entry may end in `:port` to allow it on that TCP port only: `"127.0.0.1:2525"`,
   * `"[::1]:2525"` (IPv6 in brackets), `"10.0.0.0/8:587"`, `"relay.internal:2525"`. Without a port
   * an entry is allowed on every port the kit connects to.
   */
  allow?: readonly string[];
  /** SMTP ports an account may save and use. @default [25, 587, 2525, 465] (Mandrill's) */
  ports?: readonly number[];
  /**
   * How the sender resolves host names (each connection resolves once and connects to the address it
   * checked). The credentials service never resolves. @default `dns.lookup` with `all: true`
   */
  lookup?: HostLookup;
}

/** One parsed `network.allow` entry: a host name or an address range, on one port or on any. */
export interface AllowEntry {
  /** An allowed host name, lower case, without a trailing dot. */
  readonly host?: string;
  /** An allowed address range (a single address is a /32 or /128). */
  readonly range?: readonly [ipaddr.IPv4 | ipaddr.IPv6, number];
  /** The only TCP port the entry allows; `undefined`: every port. */
  readonly port?: number;
}

/** A validated {@link NetworkPolicyOptions}. */
export interface NetworkPolicy {
  readonly allowPrivate: boolean;
  /** The `allow` entries, parsed. */
  readonly allow: readonly AllowEntry[];
  readonly ports: readonly number[];
  readonly lookup: HostLookup | undefined;
}

const POLICY_OPTIONS = ["allowPrivate", "allow", "ports", "lookup"] as const;

/** Why an address is not public: a range name of `ipaddr.js` (`loopback`, `private`, `linkLocal`…). */
export type AddressRange = string;

/** A refusal of the network policy: the address or the port is not allowed. */
export class MandrillKitNetworkError extends MandrillKitError {
  /** The host as configured (never a resolved address: that could reveal internal DNS). */
  readonly host: string;
  /** `"address"` (not a public address) or `"port"` (not an allowed SMTP port). */
  readonly reason: "address" | "port";
  /** For the operator's log: the range that was refused (`loopback`, `private`, …), when known. */
  readonly range: AddressRange | undefined;
  readonly retryable = false;

  constructor(host: string, reason: "address" | "port", message: string, range?: AddressRange) {
    super("ERR_MK_NETWORK_REFUSED", message);
    this.host = host;
    this.reason = reason;
    this.range = range;
  }
}

function configError(factory: string, option: string, message: string): MandrillKitConfigError {
  return new MandrillKitConfigError("ERR_MK_CONFIG_INVALID", option, `${factory}() ${option} ${message}`);
}

/** Normalises a host name for comparison: lower case, brackets and a trailing dot removed. */
export function normalizeHost(host: string): string {
  const h = host.trim().toLowerCase();
  const unbracketed = h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
  return unbracketed.endsWith(".") ? unbracketed.slice(0, -1) : unbracketed;
}

/**
 * The IP address a host string denotes, in any spelling the system resolver would also accept
 * (`127.1`, `0x7f.1`, `2130706433`, `0177.0.0.1`, `[::1]`, `::ffff:7f00:1`); `undefined` for a name.
 */
export function parseIpLiteral(host: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const h = normalizeHost(host);
  const zone = h.indexOf("%");
  const bare = zone >= 0 ? h.slice(0, zone) : h;
  return ipaddr.isValid(bare) ? ipaddr.parse(bare) : undefined;
}

/** The IPv4 address an IPv6 address carries (mapped, translated, NAT64, 6to4), if any. */
function embeddedIPv4(ip: ipaddr.IPv6, range: string): ipaddr.IPv4 | undefined {
  const p = ip.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  if (range === "ipv4Mapped" || range === "rfc6145" || range === "rfc6052") return v4(p[6] ?? 0, p[7] ?? 0);
  if (range === "6to4") return v4(p[1] ?? 0, p[2] ?? 0);
  // IPv4-compatible (::a.b.c.d, deprecated): the first 96 bits are zero.
  if (p.slice(0, 6).every((x) => x === 0)) return v4(p[6] ?? 0, p[7] ?? 0);
  return undefined;
}

/**
 * `"public"` for a global unicast address, else the range it belongs to (`loopback`, `private`,
 * `linkLocal`, `carrierGradeNat`, `uniqueLocal`, `multicast`, `unspecified`, `reserved`, …).
 * IPv6 forms that carry an IPv4 address are judged by that address.
 */
export function addressRange(ip: ipaddr.IPv4 | ipaddr.IPv6): AddressRange {
  if (ip.kind() === "ipv4") {
    const range = ip.range();
    return range === "unicast" ? "public" : range;
  }
  const v6 = ip as ipaddr.IPv6;
  const range = v6.range();
  const inner = embeddedIPv4(v6, range);
  if (inner !== undefined && range !== "loopback" && range !== "unspecified") return addressRange(inner);
  // Global unicast is 2000::/3; everything else (and teredo, benchmarking, documentation…) is not.
  return range === "unicast" && ((v6.parts[0] ?? 0) & 0xe000) === 0x2000 ? "public" : range;
}

/** Words for a range in an operator-facing log line. */
function rangeWords(range: AddressRange): string {
  switch (range) {
    case "loopback":
      return "loopback";
    case "private":
    case "uniqueLocal":
      return "private network";
    case "linkLocal":
      return "link-local (cloud metadata)";
    case "carrierGradeNat":
      return "carrier-grade NAT";
    default:
      return range;
  }
}

const HOST_LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const HOST_NAME = new RegExp(`^(?=.{1,253}\\.?$)${HOST_LABEL}(?:\\.${HOST_LABEL})*\\.?$`, "i");

/**
 * Parses one `network.allow` entry: `host`, `address` or `cidr`, each optionally followed by `:port`
 * (an IPv6 address with a port in brackets: `[::1]:2525`, `[fd00::]/8:587`). A bare IPv6 address
 * (two or more colons) has no port.
 */
function parseAllowEntry(factory: string, entry: unknown): AllowEntry {
  const bad = (why: string) =>
    configError(
      factory,
      "network.allow",
      `entry ${JSON.stringify(entry)} ${why} Write a host name, an IP address or a CIDR range, optionally followed by :port ("relay.internal", "10.0.0.0/8", "127.0.0.1:2525", "[::1]:2525").`,
    );
  if (typeof entry !== "string" || entry.trim() === "")
    throw configError(
      factory,
      "network.allow",
      `entries must be host names or CIDRs, optionally with :port; received ${JSON.stringify(entry)}.`,
    );
  const text = entry.trim();
  let target = text;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const m = /^\[([^[\]]+)\](\/\d{1,3})?(?::(.*))?$/.exec(text);
    if (m === null || parseIpLiteral(m[1] ?? "") === undefined)
      throw bad('is not an IP address in brackets such as "[::1]:2525".');
    target = `${m[1]}${m[2] ?? ""}`;
    portText = m[3];
  } else if (text.includes("/")) {
    const m = /^([^/]+\/\d{1,3})(?::(.*))?$/.exec(text);
    if (m === null) throw bad('is not a CIDR range such as "10.0.0.0/8" or "10.0.0.0/8:587".');
    target = m[1] ?? "";
    portText = m[2];
  } else if (text.split(":").length === 2) {
    [target = "", portText] = text.split(":");
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
    if (port < 1 || port > 65_535) throw bad("has a port that is not a whole number from 1 to 65535.");
  }
  const at = port === undefined ? {} : { port };
  if (target.includes("/")) {
    if (!ipaddr.isValidCIDR(target)) throw bad('is not a CIDR range such as "10.0.0.0/8".');
    return { range: ipaddr.parseCIDR(target), ...at };
  }
  const ip = parseIpLiteral(target);
  if (ip !== undefined) return { range: [ip, ip.kind() === "ipv4" ? 32 : 128], ...at };
  if (!HOST_NAME.test(target))
    throw bad('is not a host name (an IPv6 address with a port is written in brackets: "[::1]:2525").');
  return { host: normalizeHost(target), ...at };
}

/** Validates the operator's `network` option; `factory` names the caller in errors. */
export function resolveNetworkPolicy(options: unknown, factory: string): NetworkPolicy {
  if (options === undefined) options = {};
  if (options === null || typeof options !== "object" || Array.isArray(options))
    throw configError(factory, "network", "must be an object such as { allow: ['smtp.relay.internal'] }.");
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(POLICY_OPTIONS as readonly string[]).includes(key)) {
      const hint = didYouMean(key, POLICY_OPTIONS);
      throw new MandrillKitConfigError(
        "ERR_MK_CONFIG_UNKNOWN_OPTION",
        `network.${key}`,
        `${factory}() does not know the option "network.${key}".${hint === undefined ? "" : ` Did you mean "network.${hint}"?`} Known: ${POLICY_OPTIONS.join(", ")}.`,
      );
    }
  }
  if (o.allowPrivate !== undefined && typeof o.allowPrivate !== "boolean")
    throw configError(
      factory,
      "network.allowPrivate",
      `must be true or false; received ${typeof o.allowPrivate}.`,
    );
  const allow: AllowEntry[] = [];
  if (o.allow !== undefined) {
    if (!Array.isArray(o.allow))
      throw configError(factory, "network.allow", "must be a list of host names and CIDR ranges.");
    for (const entry of o.allow as unknown[]) allow.push(parseAllowEntry(factory, entry));
  }
  let ports: readonly number[] = MANDRILL_SMTP_PORTS;
  if (o.ports !== undefined) {
    if (
      !Array.isArray(o.ports) ||
      o.ports.length === 0 ||
      !o.ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65_535)
    )
      throw configError(
        factory,
        "network.ports",
        `must be a non-empty list of port numbers; received ${JSON.stringify(o.ports)}.`,
      );
    ports = [...(o.ports as number[])];
  }
  if (o.lookup !== undefined && typeof o.lookup !== "function")
    throw configError(
      factory,
      "network.lookup",
      "must be a function (hostname) => Promise<{ address, family }[]>.",
    );
  return {
    allowPrivate: o.allowPrivate === true,
    allow,
    ports,
    lookup: o.lookup as HostLookup | undefined,
  };
}

function rangeMatches([base, bits]: AllowEntry["range"] & {}, ip: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (ip.kind() === base.kind()) return ip.match(base, bits);
  // An IPv4 range also covers that address written as IPv4-mapped IPv6, and the reverse.
  const other =
    ip.kind() === "ipv6" ? embeddedIPv4(ip as ipaddr.IPv6, (ip as ipaddr.IPv6).range()) : undefined;
  return other !== undefined && other.kind() === base.kind() && other.match(base, bits);
}

/** An entry without a port applies on every port; one with a port only on that port (never on an unknown one). */
function onPort(entry: AllowEntry, port: number | undefined): boolean {
  return entry.port === undefined || entry.port === port;
}

function inRanges(policy: NetworkPolicy, ip: ipaddr.IPv4 | ipaddr.IPv6, port: number | undefined): boolean {
  return policy.allow.some((e) => e.range !== undefined && onPort(e, port) && rangeMatches(e.range, ip));
}

function addressRefusal(host: string, range: AddressRange): MandrillKitNetworkError {
  return new MandrillKitNetworkError(
    host,
    "address",
    `Refused to connect to "${host}": address not allowed (private network). The kit only connects to public addresses; use smtp.mandrillapp.com.`,
    rangeWords(range),
  );
}

/**
 * True when the policy names `host` itself (an allowed host name) on `port`. Without `port` only
 * entries without a port apply.
 */
function isAllowedHost(policy: NetworkPolicy, host: string, port?: number): boolean {
  const name = normalizeHost(host);
  return policy.allow.some((e) => e.host === name && onPort(e, port));
}

/**
 * Connect-time check of one address `host` resolved to (or its literal) for a connection to `port`:
 * the refusal, or `undefined` when the policy lets the kit connect. Without `port` only `allow`
 * entries without a port apply.
 */
export function checkAddress(
  policy: NetworkPolicy,
  host: string,
  address: string | ipaddr.IPv4 | ipaddr.IPv6,
  port?: number,
): MandrillKitNetworkError | undefined {
  if (policy.allowPrivate || isAllowedHost(policy, host, port)) return undefined;
  const ip = typeof address === "string" ? parseIpLiteral(address) : address;
  if (ip === undefined) return addressRefusal(host, "unparsable");
  const range = addressRange(ip);
  if (range === "public" || inRanges(policy, ip, port)) return undefined;
  return addressRefusal(host, range);
}

/**
 * Save-time check of a host name (no DNS): refuses an IP literal that is not allowed and
 * `localhost` (and `*.localhost`, RFC 6761), for a connection to `port` (as {@link checkAddress}).
 * Names are checked again, resolved, at connect time.
 */
export function checkHostName(
  policy: NetworkPolicy,
  host: string,
  port?: number,
): MandrillKitNetworkError | undefined {
  const ip = parseIpLiteral(host);
  if (ip !== undefined) return checkAddress(policy, host, ip, port);
  const name = normalizeHost(host);
  if (
    (name === "localhost" || name.endsWith(".localhost")) &&
    !policy.allowPrivate &&
    !isAllowedHost(policy, name, port)
  )
    return addressRefusal(host, "loopback");
  return undefined;
}

/** Checks an SMTP port against the policy's ports. */
export function checkPort(
  policy: NetworkPolicy,
  host: string,
  port: number,
): MandrillKitNetworkError | undefined {
  if (policy.ports.includes(port)) return undefined;
  return new MandrillKitNetworkError(
    host,
    "port",
    `Refused to connect to port ${port}: SMTP ports allowed are ${policy.ports.join(", ")} (Mandrill serves 587, 2525, 25, and 465 for TLS).`,
  );
}
