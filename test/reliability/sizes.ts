/**
 * Sizes of the reliability scenarios. `pnpm test:reliability` sets MK_RELIABILITY_SIZE=full (the
 * sizes of issue 8); `pnpm test` leaves it unset and runs the bounded CI slice. Each size can also be
 * set on its own (e.g. MK_REL_CRASH_KILLS=5) to reproduce a figure at another scale.
 */
export const FULL = process.env.MK_RELIABILITY_SIZE === "full";
export const SLICE = FULL ? "full run" : "CI slice";

function size(name: string, full: number, ci: number): number {
  const raw = process.env[name];
  if (raw !== undefined && raw.trim() !== "") {
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number; got ${raw}`);
    return n;
  }
  return FULL ? full : ci;
}

export const sizes = {
  /** SIGKILLs of the example server under webhook load. */
  crashKills: size("MK_REL_CRASH_KILLS", 20, 3),
  /** Generated requests per bad-input property (webhook route and settings API each). */
  badInputRuns: size("MK_REL_BAD_INPUT_RUNS", 10_000, 1_000),
  /** Concurrent posts of one signed batch. */
  duplicateStorm: size("MK_REL_DUPLICATES", 50, 50),
  /** Seconds of mixed webhook and send load. */
  soakSeconds: size("MK_REL_SOAK_SECONDS", 300, 10),
  /** Sends per fault kind in the failing-Mandrill scenario. */
  faultSends: size("MK_REL_FAULT_SENDS", 80, 16),
  /** Unauthenticated requests (GET /login without a cookie, webhooks to unknown accounts) in the memory scenario. */
  unauthenticatedRequests: size("MK_REL_UNAUTH_REQUESTS", 100_000, 2_000),
  /** Connections trickling a body or headers in the slow-client scenario. */
  slowConnections: size("MK_REL_SLOW_CONNECTIONS", 200, 200),
  /** The server's request deadline in the slow-client scenario (the full run keeps the 30 s default). */
  slowDeadlineMs: size("MK_REL_SLOW_DEADLINE_MS", 30_000, 2_000),
} as const;

/** Prints a figure for the README (one greppable line per figure). */
export function figure(name: string, value: unknown): void {
  process.stdout.write(
    `[reliability] ${name}: ${typeof value === "string" ? value : JSON.stringify(value)}\n`,
  );
}
