/** Options of {@link createRateLimiter}: a token bucket per key. */
export interface RateLimitOptions {
  /** Requests allowed in a burst. */
  capacity: number;
  /** Tokens added back per second. */
  refillPerSecond: number;
}

/** An in-memory token bucket per key (client IP, session…). One process only: enough for the example. */
export interface RateLimiter {
  /** Takes a token: `ok`, or how many seconds until the next one. */
  take(key: string, now?: number): { ok: true } | { ok: false; retryAfterSeconds: number };
}

const MAX_KEYS = 10_000;

/** Creates a token-bucket limiter. */
export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const { capacity, refillPerSecond } = options;
  if (!(capacity >= 1) || !(refillPerSecond > 0)) {
    throw new RangeError("rate limit: capacity must be ≥ 1 and refillPerSecond > 0");
  }
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key, now = Date.now()) {
      const previous = buckets.get(key);
      const tokens = Math.min(
        capacity,
        previous === undefined ? capacity : previous.tokens + ((now - previous.at) / 1000) * refillPerSecond,
      );
      if (tokens < 1) {
        buckets.set(key, { tokens, at: now });
        return { ok: false, retryAfterSeconds: Math.ceil((1 - tokens) / refillPerSecond) };
      }
      // Bounded memory: forget the oldest buckets (a forgotten key starts full, which only loosens the limit).
      if (previous === undefined && buckets.size >= MAX_KEYS) {
        const oldest = buckets.keys().next().value;
        if (oldest !== undefined) buckets.delete(oldest);
      }
      buckets.delete(key);
      buckets.set(key, { tokens: tokens - 1, at: now });
      return { ok: true };
    },
  };
}
