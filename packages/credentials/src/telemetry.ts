import { summedCounter, type Telemetry } from "@mandrill-kit/core/plugin";
import type { Attributes, Counter, Meter } from "@opentelemetry/api";

/** The credential service's instruments, built once per telemetry handle. */
export interface CredentialInstruments {
  /** Counts one settings lookup of `mandrill_kit.credentials.cache.lookups` by outcome. */
  cacheLookup(outcome: "hit" | "miss"): void;
  decryptFailures: Counter;
}

function build(meter: Meter, telemetry: Telemetry): CredentialInstruments {
  // No account attribute, even per account: lookups come for any account id a request names, stored or not.
  const lookups = summedCounter(
    telemetry,
    meter,
    "mandrill_kit.credentials.cache.lookups",
    {
      description: "Settings lookups, by outcome: hit (cached) or miss (read and decrypted).",
      unit: "{lookup}",
    },
    (_account: Attributes, outcome: string) => ({ outcome }),
  );
  return {
    cacheLookup: (outcome) => {
      lookups(1, "", outcome);
    },
    decryptFailures: meter.createCounter("mandrill_kit.credentials.decrypt.failures", {
      description: "Stored settings that could not be decrypted, by error code (error.type).",
      unit: "{failure}",
    }),
  };
}

/** The instruments of `telemetry` (built on first call). */
export function credentialInstruments(telemetry: Telemetry): CredentialInstruments {
  return telemetry.instruments("credentials", build);
}

/** Counts a failed decryption by its code, and rethrows it. */
export function countDecryptFailure(telemetry: Telemetry, account: string, error: unknown): never {
  const code = (error as { code?: unknown } | null)?.code;
  credentialInstruments(telemetry).decryptFailures.add(1, {
    ...telemetry.account(account),
    "error.type": typeof code === "string" ? code : "other",
  });
  throw error;
}
