import type { Clock } from "../clock.js";
import { MandrillKitError } from "../errors.js";

/** A {@link Clock} that only moves when told to (`advance`, `set`). */
export interface ManualClock extends Clock {
  /** Moves the clock forward by `ms` and returns the new time. */
  advance(ms: number): number;
  /** Sets the clock to `at` (epoch milliseconds). */
  set(at: number): void;
}

/** A clock for tests, starting at `start` (default 2026-01-01T00:00:00Z). */
export function manualClock(start = Date.UTC(2026, 0, 1)): ManualClock {
  let at = start;
  return {
    now: () => at,
    advance(ms) {
      at += ms;
      return at;
    },
    set(value) {
      at = value;
    },
  };
}

/** Options of {@link eventually}. */
export interface EventuallyOptions {
  /** Give up after this long. @default 5000 */
  timeoutMs?: number;
  /** Wait between probes. @default 10 */
  intervalMs?: number;
  /** Said in the error when the condition is never met. */
  what?: string;
}

/**
 * Resolves once `probe` returns (or resolves to) `true`; rejects after `timeoutMs`. For outcomes that
 * happen on another process or socket; never use it to wait for a state you then assert in between.
 */
export async function eventually(
  probe: () => boolean | Promise<boolean>,
  options: EventuallyOptions | number = {},
): Promise<void> {
  const o = typeof options === "number" ? { timeoutMs: options } : options;
  const timeoutMs = o.timeoutMs ?? 5000;
  const intervalMs = o.intervalMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) {
      throw new MandrillKitError(
        "ERR_MK_TESTING_TIMEOUT",
        `${o.what ?? "condition"} not met within ${timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
