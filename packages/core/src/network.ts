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

/** A validated {@link NetworkPolicyOptions}. */
export interface NetworkPolicy {
  readonly allowPrivate: boolean;
  /** Allowed host names, lower case, without a trailing dot. */
  readonly hosts: ReadonlySet<string>;
  readonly ranges: readonly [ipaddr.IPv4 | ipaddr.IPv6, number][];
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
  const hosts = new Set<string>();
  const ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  if (o.allow !== undefined) {
    if (!Array.isArray(o.allow))
      throw configError(factory, "network.allow", "must be a list of host names and CIDR ranges.");
    for (const entry of o.allow as unknown[]) {
      if (typeof entry !== "string" || entry.trim() === "")
        throw configError(
          factory,
          "network.allow",
          `entries must be host names or CIDRs; received ${JSON.stringify(entry)}.`,
        );
      const text = entry.trim();
      if (text.includes("/")) {
        if (!ipaddr.isValidCIDR(text))
          throw configError(
            factory,
            "network.allow",
            `entry ${JSON.stringify(text)} is not a CIDR range such as "10.0.0.0/8".`,
          );
        ranges.push(ipaddr.parseCIDR(text));
        continue;
      }
      const ip = parseIpLiteral(text);
      if (ip !== undefined) ranges.push([ip, ip.kind() === "ipv4" ? 32 : 128]);
      else hosts.add(normalizeHost(text));
    }
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
    hosts,
    ranges,
    ports,
    lookup: o.lookup as HostLookup | undefined,
  };
}

function inRanges(policy: NetworkPolicy, ip: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return policy.ranges.some(([base, bits]) => {
    if (ip.kind() === base.kind()) return ip.match(base, bits);
    // An IPv4 range also covers that address written as IPv4-mapped IPv6, and the reverse.
    const other =
      ip.kind() === "ipv6" ? embeddedIPv4(ip as ipaddr.IPv6, (ip as ipaddr.IPv6).range()) : undefined;
    return other !== undefined && other.kind() === base.kind() && other.match(base, bits);
  });
}

function addressRefusal(host: string, range: AddressRange): MandrillKitNetworkError {
  return new MandrillKitNetworkError(
    host,
    "address",
    `Refused to connect to "${host}": address not allowed (private network). The kit only connects to public addresses; use smtp.mandrillapp.com.`,
    rangeWords(range),
  );
}

/** True when the policy names `host` itself (an allowed host name). */
export function isAllowedHost(policy: NetworkPolicy, host: string): boolean {
  return policy.hosts.has(normalizeHost(host));
}

/**
 * Connect-time check of one address `host` resolved to (or its literal): the refusal, or
 * `undefined` when the policy lets the kit connect.
 */
export function checkAddress(
  policy: NetworkPolicy,
  host: string,
  address: string | ipaddr.IPv4 | ipaddr.IPv6,
): MandrillKitNetworkError | undefined {
  if (policy.allowPrivate || isAllowedHost(policy, host)) return undefined;
  const ip = typeof address === "string" ? parseIpLiteral(address) : address;
  if (ip === undefined) return addressRefusal(host, "unparsable");
  const range = addressRange(ip);
  if (range === "public" || inRanges(policy, ip)) return undefined;
  return addressRefusal(host, range);
}

/**
 * Save-time check of a host name (no DNS): refuses an IP literal that is not allowed and
 * `localhost` (and `*.localhost`, RFC 6761). Names are checked again, resolved, at connect time.
 */
export function checkHostName(policy: NetworkPolicy, host: string): MandrillKitNetworkError | undefined {
  const ip = parseIpLiteral(host);
  if (ip !== undefined) return checkAddress(policy, host, ip);
  const name = normalizeHost(host);
  if (
    (name === "localhost" || name.endsWith(".localhost")) &&
    !policy.allowPrivate &&
    !isAllowedHost(policy, name)
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
