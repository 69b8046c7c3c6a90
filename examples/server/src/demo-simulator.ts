import type { SimulatorOptions } from "@mandrill-kit/simulator";

/**
 * The sending domains every account of the demo simulator has verified, with valid SPF and DKIM:
 * the README's and the guide's (`hello@acme.example`) and `example.com`. Test connection, Diagnostics
 * and sends from these pass; a From address on any other domain is reported unverified and its mail
 * is rejected as "unsigned", as Mandrill does.
 */
export const DEMO_SENDING_DOMAINS: readonly string[] = Object.freeze(["acme.example", "example.com"]);

/**
 * How `pnpm start` runs the simulator (besides timing, logging and where webhooks go): every saved
 * API key is accepted, except those starting with "invalid" (to see the troubleshooting), and each
 * key's account has {@link DEMO_SENDING_DOMAINS}.
 */
export function demoSimulatorOptions(): SimulatorOptions {
  return {
    acceptAnyKey: (key) => !key.startsWith("invalid"),
    anyKeyAccount: { domains: [...DEMO_SENDING_DOMAINS], balance: 100 },
  };
}
