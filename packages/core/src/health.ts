import { MandrillKitError } from "./errors.js";

/** One check of {@link KitHealth}. */
export interface HealthCheckResult {
  ok: boolean;
  /** How long the check took, in milliseconds. */
  ms: number;
  /** What failed, in plain words (never a secret). */
  error?: string;
  /** What was seen when it is fine but worth saying (e.g. "not started in this process"). */
  detail?: string;
}

/** What `kit.health()` answers: `ok` when every check is. */
export interface KitHealth {
  ok: boolean;
  checks: {
    /** The store answered a cheap query within the deadline. */
    store: HealthCheckResult;
    /** The webhook dispatch loop is alive (ok, with a detail, when this process does not dispatch). */
    dispatcher: HealthCheckResult;
    /** The encryption key set loads. */
    keys: HealthCheckResult;
  };
}

/**
 * A check: resolves (optionally with a detail) when healthy, rejects with what is wrong. Plugins
 * register theirs on the kit context (`context.healthChecks`), e.g. the dispatcher on `start()`.
 */
export type HealthCheck = () => Promise<string | undefined> | string | undefined;

/**
 * Runs `check` with a deadline: slower than `deadlineMs` counts as failed (the check itself goes on
 * in the background and its outcome is ignored).
 */
export async function runHealthCheck(
  check: HealthCheck,
  deadlineMs: number,
  what: string,
): Promise<HealthCheckResult> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const ms = () => Math.round((performance.now() - start) * 10) / 10;
  try {
    const detail = await Promise.race([
      Promise.resolve().then(check),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new MandrillKitError(
                "ERR_MK_HEALTH_CHECK_FAILED",
                `${what} did not answer within ${deadlineMs} ms`,
              ),
            ),
          deadlineMs,
        );
        timer.unref();
      }),
    ]);
    return detail === undefined ? { ok: true, ms: ms() } : { ok: true, ms: ms(), detail };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, ms: ms(), error: message.slice(0, 500) };
  } finally {
    clearTimeout(timer);
  }
}
