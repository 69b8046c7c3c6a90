import { MandrillKitConfigError } from "@mandrill-kit/core";
import {
  addressRange,
  checkAddress,
  checkHostName,
  checkPort,
  parseIpLiteral,
  resolveNetworkPolicy,
} from "@mandrill-kit/core/plugin";
import { describe, expect, it } from "vitest";

const DEFAULT = resolveNetworkPolicy(undefined, "test");

/** Every non-public form an attacker may type as an SMTP host, with the range it lands in. */
const PRIVATE_FORMS: readonly [string, string][] = [
  ["127.0.0.1", "loopback"],
  ["127.1", "loopback"],
  ["0x7f.1", "loopback"],
  ["2130706433", "loopback"],
  ["0177.0.0.1", "loopback"],
  ["0x7f000001", "loopback"],
  ["::1", "loopback"],
  ["[::1]", "loopback"],
  ["::ffff:127.0.0.1", "loopback"],
  ["::ffff:7f00:1", "loopback"],
  ["::127.0.0.1", "loopback"],
  ["::7f00:1", "loopback"],
  ["64:ff9b::7f00:1", "loopback"],
  ["2002:7f00:1::1", "loopback"],
  ["10.0.0.1", "private"],
  ["172.16.5.4", "private"],
  ["192.168.1.10", "private"],
  ["::ffff:192.168.1.10", "private"],
  ["169.254.169.254", "linkLocal"],
  ["::ffff:169.254.169.254", "linkLocal"],
  ["100.64.0.1", "carrierGradeNat"],
  ["fe80::1", "linkLocal"],
  ["fc00::1", "uniqueLocal"],
  ["fd12:3456::1", "uniqueLocal"],
  ["224.0.0.1", "multicast"],
  ["ff02::1", "multicast"],
  ["0.0.0.0", "unspecified"],
  ["0", "unspecified"],
  ["::", "unspecified"],
  ["255.255.255.255", "broadcast"],
  ["198.18.0.1", "reserved"],
  ["192.0.2.1", "reserved"],
  ["240.0.0.1", "reserved"],
  ["2001:db8::1", "reserved"],
];

describe("addressRange", () => {
  it.each(PRIVATE_FORMS)("puts %s in %s, not public", (form, range) => {
    const ip = parseIpLiteral(form);
    expect(ip, form).toBeDefined();
    expect(addressRange(ip as NonNullable<typeof ip>)).toBe(range);
  });

  it.each(["34.212.10.1", "8.8.8.8", "2a00:1450:4001::1", "::ffff:8.8.8.8", "64:ff9b::808:808"])(
    "calls %s public",
    (form) => {
      const ip = parseIpLiteral(form);
      expect(addressRange(ip as NonNullable<typeof ip>)).toBe("public");
    },
  );

  it("reads a host name as no address at all", () => {
    expect(parseIpLiteral("smtp.mandrillapp.com")).toBeUndefined();
    expect(parseIpLiteral("localhost")).toBeUndefined();
  });
});

describe("the default policy (tenant settings must not reach the host's network)", () => {
  it.each(PRIVATE_FORMS)("refuses %s at save time and at connect time", (form) => {
    expect(checkHostName(DEFAULT, form)).toMatchObject({ code: "ERR_MK_NETWORK_REFUSED", reason: "address" });
    expect(checkAddress(DEFAULT, "mail.example.com", form)).toMatchObject({ code: "ERR_MK_NETWORK_REFUSED" });
  });

  it("refuses localhost and *.localhost by name at save time", () => {
    for (const name of ["localhost", "LOCALHOST.", "mail.localhost"])
      expect(checkHostName(DEFAULT, name), name).toMatchObject({ reason: "address" });
    expect(checkHostName(DEFAULT, "smtp.mandrillapp.com")).toBeUndefined();
  });

  it("never names the resolved address in the message (no internal DNS through error text)", () => {
    const refusal = checkAddress(DEFAULT, "db.corp.internal", "10.20.30.40");
    expect(refusal?.message).toContain("address not allowed (private network)");
    expect(refusal?.message).not.toContain("10.20.30.40");
    expect(refusal?.range).toBe("private network");
  });

  it("allows Mandrill's SMTP ports only", () => {
    for (const port of [25, 587, 2525, 465]) expect(checkPort(DEFAULT, "h", port)).toBeUndefined();
    for (const port of [22, 80, 6379, 5432, 8080])
      expect(checkPort(DEFAULT, "h", port)).toMatchObject({ code: "ERR_MK_NETWORK_REFUSED", reason: "port" });
  });
});

describe("the operator's opt-out", () => {
  it("allowPrivate lets every address through, ports stay limited", () => {
    const open = resolveNetworkPolicy({ allowPrivate: true }, "test");
    for (const [form] of PRIVATE_FORMS) expect(checkAddress(open, "h", form), form).toBeUndefined();
    expect(checkPort(open, "h", 22)).toBeDefined();
  });

  it("allow takes CIDRs (also matching IPv4-mapped forms) and exact host names", () => {
    const policy = resolveNetworkPolicy({ allow: ["10.1.2.0/24", "127.0.0.1", "relay.internal"] }, "test");
    expect(checkAddress(policy, "h", "10.1.2.9")).toBeUndefined();
    expect(checkAddress(policy, "h", "::ffff:10.1.2.9")).toBeUndefined();
    expect(checkAddress(policy, "h", "10.1.3.9")).toBeDefined();
    expect(checkAddress(policy, "h", "127.0.0.1")).toBeUndefined();
    expect(checkAddress(policy, "h", "127.0.0.2")).toBeDefined();
    expect(checkAddress(policy, "Relay.Internal.", "10.9.9.9")).toBeUndefined();
    expect(checkAddress(policy, "other.internal", "10.9.9.9")).toBeDefined();
    expect(checkHostName(policy, "relay.internal")).toBeUndefined();
  });

  it("an allow entry with :port admits that address or name on that port only (a name resolving to 127.0.0.1 reaches no other loopback port)", () => {
    const policy = resolveNetworkPolicy(
      { allow: ["127.0.0.1:2525", "[::1]:2525", "10.0.0.0/8:587", "[fd00::]/8:465", "relay.internal:2525"] },
      "test",
    );
    expect(checkAddress(policy, "loopback.attacker.example", "127.0.0.1", 2525)).toBeUndefined();
    for (const port of [25, 587, 465, 22, 5432])
      expect(
        checkAddress(policy, "loopback.attacker.example", "127.0.0.1", port),
        String(port),
      ).toMatchObject({
        code: "ERR_MK_NETWORK_REFUSED",
        reason: "address",
      });
    // Without a port only unscoped entries apply.
    expect(checkAddress(policy, "h", "127.0.0.1")).toBeDefined();
    expect(checkAddress(policy, "h", "::1", 2525)).toBeUndefined();
    expect(checkAddress(policy, "h", "::1", 25)).toBeDefined();
    expect(checkAddress(policy, "h", "::ffff:127.0.0.1", 2525)).toBeUndefined();
    expect(checkAddress(policy, "h", "10.9.8.7", 587)).toBeUndefined();
    expect(checkAddress(policy, "h", "10.9.8.7", 2525)).toBeDefined();
    expect(checkAddress(policy, "h", "fd12::1", 465)).toBeUndefined();
    expect(checkAddress(policy, "h", "fd12::1", 587)).toBeDefined();
    expect(checkAddress(policy, "Relay.Internal.", "10.9.9.9", 2525)).toBeUndefined();
    expect(checkAddress(policy, "relay.internal", "192.168.1.1", 587)).toBeDefined();
    expect(checkHostName(policy, "127.0.0.1", 2525)).toBeUndefined();
    expect(checkHostName(policy, "127.0.0.1", 587)).toBeDefined();
    // Unscoped entries keep their meaning: every port.
    const open = resolveNetworkPolicy({ allow: ["127.0.0.1", "::1", "10.0.0.0/8"] }, "test");
    for (const port of [25, 2525, 8080]) {
      expect(checkAddress(open, "h", "127.0.0.1", port)).toBeUndefined();
      expect(checkAddress(open, "h", "::1", port)).toBeUndefined();
      expect(checkAddress(open, "h", "10.1.1.1", port)).toBeUndefined();
    }
  });

  it.each([
    "127.0.0.1:",
    "127.0.0.1:0",
    "127.0.0.1:65536",
    "127.0.0.1:25x",
    "127.0.0.1:-1",
    "[::1]:",
    "[::1]:abc",
    "[::1",
    "[relay.internal]:25",
    "10.0.0.0/33",
    "10.0.0.0/8:",
    "10.0.0.0/8:99999",
    "relay.internal:",
    "relay.internal:smtp",
    "relay internal",
    "::1::2525",
    "http://relay.internal",
    "a:b:c",
  ])("refuses the malformed allow entry %j at factory time", (entry) => {
    expect(() => resolveNetworkPolicy({ allow: [entry] }, "test")).toThrow(
      expect.objectContaining({ code: "ERR_MK_CONFIG_INVALID", option: "network.allow" }),
    );
  });

  it("ports replaces the allowed SMTP ports", () => {
    const policy = resolveNetworkPolicy({ ports: [587, 1025] }, "test");
    expect(checkPort(policy, "h", 1025)).toBeUndefined();
    expect(checkPort(policy, "h", 25)).toBeDefined();
  });

  it.each([
    [{ alowPrivate: true }, /network\.alowPrivate.*Did you mean "network\.allowPrivate"/],
    [{ allowPrivate: "yes" }, /allowPrivate must be true or false/],
    [{ allow: "10.0.0.0/8" }, /must be a list/],
    [{ allow: ["10.0.0.0/33"] }, /not a CIDR range/],
    [{ allow: [""] }, /host names or CIDRs/],
    [{ ports: [] }, /non-empty list of port numbers/],
    [{ ports: [70_000] }, /non-empty list of port numbers/],
    [{ lookup: "dns" }, /lookup must be a function/],
    ["open", /network must be an object/],
  ])("refuses a malformed option %j when the factory is called", (options, message) => {
    expect(() => resolveNetworkPolicy(options, "createSender")).toThrow(MandrillKitConfigError);
    expect(() => resolveNetworkPolicy(options, "createSender")).toThrow(message);
  });
});
