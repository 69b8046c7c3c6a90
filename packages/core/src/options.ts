import { IncomingMessage } from "node:http";
import { MandrillKitConfigError } from "./errors.js";

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] ?? 0;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] ?? 0;
      dp[j] = Math.min(
        (dp[j] ?? 0) + 1,
        (dp[j - 1] ?? 0) + 1,
        prev + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return dp[b.length] ?? 0;
}

/** The known name closest to `name`, when it is close enough to be a likely slip. */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  // "busyTimeout" → "busyTimeoutMs": a unit suffix left off is the commonest slip.
  const prefixed = known.find((k) => lower.length >= 4 && k.toLowerCase().startsWith(lower));
  if (prefixed !== undefined) return prefixed;
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const score = distance(name, candidate);
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * Checks that `options` is a plain object whose keys are all in `known` (helmet-style: fail at start,
 * quote the bad name, suggest the fix). `factory` names the caller in the message, e.g.
 * `"openSqliteStore"`. Also guards against the factory itself being passed where its result belongs.
 */
export function checkOptions(
  factory: string,
  options: unknown,
  known: readonly string[],
): Record<string, unknown> {
  if (options === undefined) return {};
  // app.use(factory) (not called): Express then calls the factory with (req, res, next).
  const requestLike =
    options instanceof IncomingMessage ||
    (typeof options === "object" &&
      options !== null &&
      "method" in options &&
      "headers" in options &&
      "url" in options);
  if (typeof options === "function" || requestLike) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "options",
      `${factory}() received ${requestLike ? "an HTTP request" : "a function"} as its options. Did you pass a factory without calling it? Write app.use(${factory}()) with its options, not app.use(${factory}).`,
    );
  }
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "options",
      `${factory}() options must be an object; received ${options === null ? "null" : Array.isArray(options) ? "an array" : typeof options}.`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const hint = didYouMean(key, known);
      throw new MandrillKitConfigError(
        "ERR_MK_CONFIG_UNKNOWN_OPTION",
        key,
        `${factory}() does not know the option "${key}".${hint === undefined ? "" : ` Did you mean "${hint}"?`} Known options: ${known.join(", ")}.`,
      );
    }
  }
  return options as Record<string, unknown>;
}
