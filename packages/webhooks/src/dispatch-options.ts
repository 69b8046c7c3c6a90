import { MandrillKitConfigError } from "@mandrill-kit/core";

/** How handlers are run: shared by `createDispatcher()` and `mandrillWebhooks()`. */
export interface DispatchOptions {
  /** Runs per event before it is dead-lettered (1–100). @default 8 */
  maxAttempts?: number;
  /** First retry delay; doubles each time (±20% jitter). @default 2000 */
  retryBaseMs?: number;
  /** Longest retry delay (at least `retryBaseMs`, at most 7 days). @default 900000 (15 minutes) */
  retryMaxMs?: number;
  /** How often the inbox is polled for due events (new ones also wake it at once). @default 1000 */
  pollIntervalMs?: number;
  /** Events run at the same time in this process (1–200). @default 4 */
  concurrency?: number;
  /**
   * A run still going after this long counts as failed: its `signal` aborts, and its retry waits
   * until it has settled (the event stays held meanwhile). At most 24 hours. @default 30000
   */
  handlerTimeoutMs?: number;
}

/** {@link DispatchOptions} with every default applied. */
export type DispatchConfig = Required<DispatchOptions>;

export const DISPATCH_OPTION_NAMES = [
  "maxAttempts",
  "retryBaseMs",
  "retryMaxMs",
  "pollIntervalMs",
  "concurrency",
  "handlerTimeoutMs",
] as const;

const DAY_MS = 86_400_000;

/** Quotes a received option value for a message (`"4"` for a string, `NaN` for NaN). */
export function quote(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (typeof value === "function") return "a function";
  return JSON.stringify(value) ?? String(value);
}

/** An integer option in [min, max], or its default; throws naming the option, the value and the fix. */
export function integerOption(
  factory: string,
  name: string,
  value: unknown,
  range: { min: number; max: number; fallback: number },
): number {
  if (value === undefined) return range.fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      name,
      `${factory}() option ${name} must be an integer from ${range.min} to ${range.max}; received ${quote(value)}. Pass a number, e.g. { ${name}: ${range.fallback} }, or leave it out for the default.`,
    );
  }
  return value;
}

/** Validates the dispatch options (at factory time) and applies the defaults. */
export function resolveDispatchOptions(factory: string, o: DispatchOptions): DispatchConfig {
  const retryBaseMs = integerOption(factory, "retryBaseMs", o.retryBaseMs, {
    min: 1,
    max: DAY_MS,
    fallback: 2000,
  });
  const retryMaxMs = integerOption(factory, "retryMaxMs", o.retryMaxMs, {
    min: 1,
    max: 7 * DAY_MS,
    fallback: Math.max(900_000, retryBaseMs),
  });
  if (retryMaxMs < retryBaseMs) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "retryMaxMs",
      `${factory}() option retryMaxMs (${retryMaxMs}) is smaller than retryBaseMs (${retryBaseMs}); the longest retry delay must be at least the first one. Raise retryMaxMs or lower retryBaseMs.`,
    );
  }
  return {
    maxAttempts: integerOption(factory, "maxAttempts", o.maxAttempts, { min: 1, max: 100, fallback: 8 }),
    retryBaseMs,
    retryMaxMs,
    pollIntervalMs: integerOption(factory, "pollIntervalMs", o.pollIntervalMs, {
      min: 1,
      max: 3_600_000,
      fallback: 1000,
    }),
    concurrency: integerOption(factory, "concurrency", o.concurrency, { min: 1, max: 200, fallback: 4 }),
    handlerTimeoutMs: integerOption(factory, "handlerTimeoutMs", o.handlerTimeoutMs, {
      min: 1,
      max: DAY_MS,
      fallback: 30_000,
    }),
  };
}
