import type { SimulatorAccountOptions } from "./account-options.js";

/** The demo keys of {@link DEMO_ACCOUNT}, one of each kind. */
export const DEMO_KEYS = Object.freeze({
  valid: "sim-valid-key-000000000001",
  test: "sim-test-key-0000000000001",
  disabled: "sim-disabled-key-000000001",
  ipRestricted: "sim-ip-restricted-key-0001",
});

/** The account used when `accounts` is not given. */
export const DEMO_ACCOUNT: Readonly<SimulatorAccountOptions> = Object.freeze<SimulatorAccountOptions>({
  id: "demo",
  username: "demo@example.com",
  keys: [
    { key: DEMO_KEYS.valid, kind: "valid" },
    { key: DEMO_KEYS.test, kind: "test" },
    { key: DEMO_KEYS.disabled, kind: "disabled" },
    { key: DEMO_KEYS.ipRestricted, kind: "ip-restricted" },
  ],
  domains: [
    "example.com",
    "example.org",
    "example.net",
    { domain: "unverified.example", spf: false, dkim: false },
  ],
  balance: 100,
  subaccounts: ["customer-123"],
  templates: [
    {
      name: "welcome",
      subject: "Welcome, *|FNAME|*",
      code: '<p>Hello *|FNAME|*,</p><div mc:edit="main">Thanks for joining.</div>',
      text: "Hello *|FNAME|*, thanks for joining.",
      from_email: "hello@example.com",
      from_name: "Example",
    },
  ],
});
