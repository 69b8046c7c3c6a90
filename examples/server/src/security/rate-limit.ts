import type { NextFunction, Request, RequestHandler, Response } from "express";
import {
  type ClientRateLimitInfo,
  ipKeyGenerator,
  type Options,
  rateLimit,
  type Store,
} from "express-rate-limit";
import { LRUCache } from "lru-cache";

/** A fixed window: at most `limit` hits per `windowMs`. */
export interface LimitOptions {
  limit: number;
  windowMs: number;
}

/** The example's request limits (see the README's configuration table). */
export interface RateLimits {
  /** Wrong admin tokens per client address, on the login form and on the JSON API alike. */
  authFailures: LimitOptions;
  /** Test emails per client address and account. */
  testEmail: LimitOptions;
  /** Test emails per recipient address, across every account and client. */
  testEmailRecipient: LimitOptions;
  /** Demo sends per client address (page and API). */
  send: LimitOptions;
}

const MINUTE = 60_000;

/** The defaults: generous for a person, useless for a script. */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  authFailures: { limit: 10, windowMs: 15 * MINUTE },
  testEmail: { limit: 5, windowMs: MINUTE },
  testEmailRecipient: { limit: 5, windowMs: 60 * MINUTE },
  send: { limit: 60, windowMs: MINUTE },
};

/** Keys a limiter remembers at most: the least recently used go first (they only start afresh). */
export const MAX_LIMITER_KEYS = 10_000;

/** Thrown (passed to `next`) when a request is over a limit; routers answer it as 429. */
export class TooManyRequestsError extends Error {
  readonly status = 429;
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.name = "TooManyRequestsError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * An express-rate-limit store held in an LRU with a size cap, so keys chosen by clients (addresses,
 * recipients) cannot grow memory without bound; entries also expire with their window.
 */
export class BoundedMemoryStore implements Store {
  readonly localKeys = true;
  #windowMs = MINUTE;
  readonly #hits: LRUCache<string, { totalHits: number; resetTime: Date }>;

  constructor(maxKeys = MAX_LIMITER_KEYS) {
    this.#hits = new LRUCache({ max: maxKeys });
  }

  init(options: Options): void {
    this.#windowMs = options.windowMs;
  }

  get size(): number {
    return this.#hits.size;
  }

  get(key: string): ClientRateLimitInfo | undefined {
    const entry = this.#hits.get(key);
    return entry === undefined ? undefined : { ...entry };
  }

  increment(key: string): ClientRateLimitInfo {
    const now = Date.now();
    const current = this.#hits.get(key);
    const entry =
      current === undefined || current.resetTime.getTime() <= now
        ? { totalHits: 1, resetTime: new Date(now + this.#windowMs) }
        : { totalHits: current.totalHits + 1, resetTime: current.resetTime };
    this.#hits.set(key, entry, { ttl: entry.resetTime.getTime() - now });
    return { ...entry };
  }

  decrement(key: string): void {
    const entry = this.#hits.get(key);
    if (entry !== undefined && entry.totalHits > 0) entry.totalHits -= 1;
  }

  resetKey(key: string): void {
    this.#hits.delete(key);
  }

  resetAll(): void {
    this.#hits.clear();
  }
}

/** The client's address as a limiter key (IPv6 by /56 subnet, so one host cannot rotate addresses). */
export function clientKey(req: Request): string {
  return ipKeyGenerator(req.ip ?? "unknown");
}

/** Options of {@link createLimiter}. */
export interface LimiterOptions extends LimitOptions {
  /** The key a request counts against. @default the client address */
  key?: (req: Request) => string;
  /** Requests that do not count (and are never refused). */
  skip?: (req: Request) => boolean | Promise<boolean>;
  /** The message of the 429, given the seconds to wait. */
  message: (retryAfterSeconds: number) => string;
  /** @default {@link MAX_LIMITER_KEYS} */
  maxKeys?: number;
}

/** A limiter middleware (express-rate-limit) that passes a {@link TooManyRequestsError} on when over. */
export type Limiter = RequestHandler & { store: BoundedMemoryStore };

/** Creates a fixed-window limiter on a bounded in-memory store (one process: enough for the example). */
export function createLimiter(o: LimiterOptions): Limiter {
  if (!(Number.isInteger(o.limit) && o.limit >= 1) || !(o.windowMs > 0)) {
    throw new RangeError("rate limit: limit must be a whole number ≥ 1 and windowMs > 0");
  }
  const store = new BoundedMemoryStore(o.maxKeys);
  const middleware = rateLimit({
    windowMs: o.windowMs,
    limit: o.limit,
    store,
    standardHeaders: false,
    legacyHeaders: false,
    keyGenerator: o.key ?? clientKey,
    ...(o.skip === undefined ? {} : { skip: o.skip }),
    handler(req: Request, _res: Response, next: NextFunction) {
      const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now()) - Date.now()) / 1000));
      next(new TooManyRequestsError(o.message(seconds), seconds));
    },
  });
  return Object.assign(middleware, { store });
}

/**
 * A limiter on failed authentication: only requests that `succeeds` rejects count, and once a client
 * is over the limit every request is refused, the right credentials included — so the answer never
 * tells a guesser that a guess was right.
 */
export function createAuthFailureLimiter(
  o: LimitOptions & {
    succeeds: (req: Request) => boolean;
    message: (retryAfterSeconds: number) => string;
    maxKeys?: number;
  },
): Limiter {
  const limiter: Limiter = createLimiter({
    ...o,
    skip: (req) => o.succeeds(req) && (limiter.store.get(clientKey(req))?.totalHits ?? 0) < o.limit,
  });
  return limiter;
}

/** A recipient address as a limiter key: lower-cased, without a `+tag`, so tags do not multiply a budget. */
export function recipientKey(address: string): string {
  const at = address.lastIndexOf("@");
  const local = address.slice(0, at).split("+")[0] ?? "";
  return `${local}${address.slice(at)}`.trim().toLowerCase();
}
