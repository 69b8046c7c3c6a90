import {
  type Clock,
  type InboxRecord,
  type MandrillEvent,
  MandrillKitPayloadError,
  type Store,
} from "@mandrill-kit/core";
import { type ComponentLogger, parseStoredEvent, type Telemetry } from "@mandrill-kit/core/plugin";
import type { DispatchConfig } from "./dispatch-options.js";
import type { HandlerRegistry } from "./handler-registry.js";
import { type HandlerRun, runId, startRun } from "./handler-run.js";
import { type ObservedRun, observeRun } from "./telemetry.js";

/** Slack on top of the handler time in every lease and hold: store round trips, a slow event loop. */
export const LEASE_MARGIN_MS = 30_000;

interface Deps {
  store: Store;
  logger: ComponentLogger;
  clock: Clock;
  config: DispatchConfig;
  registry: HandlerRegistry;
  telemetry: Telemetry;
}

/** Runs claimed events' handlers, watching their deadlines (see {@link createEventRunner}). */
export interface EventRunner {
  /** Runs one claimed event; resolves true when it succeeded (the caller completes it with its claim). */
  run(record: InboxRecord): Promise<boolean>;
  /** True while a run of this event is going in this process, timed-out runs included. */
  isRunning(record: InboxRecord): boolean;
  /** Puts a claimed event back until later: its previous run is still going. */
  holdBack(record: InboxRecord): Promise<void>;
  /** Puts a claimed event back as it was, due now, without running it (its attempt stays counted). */
  release(record: InboxRecord): Promise<void>;
  /** Resolves when every run, timed-out ones included, has settled and its outcome is recorded. */
  drain(): Promise<void>;
}

type TrackedRun = HandlerRun & { holdUntil: number; renewal?: Promise<void> | undefined };

const describe = (error: Error) => `${error.name}: ${error.message}`.slice(0, 2000);

function retryDelay(config: DispatchConfig, attempt: number): number {
  const base = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** (attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Logs a failed run and tells the `onError` handlers. */
function told(
  deps: Deps,
  record: InboxRecord,
  error: Error,
  willRetry: boolean,
  event?: MandrillEvent,
  trace: { traceId?: string } = {},
): void {
  const { account, key: eventKey, attempts: attempt } = record;
  const fields = { account, eventKey, type: record.type, attempt, willRetry, ...trace };
  if (willRetry) deps.logger.warn(fields, `handler failed; retrying: ${error.message}`);
  else deps.logger.error(fields, `handler failed ${attempt} times; dead-lettered: ${error.message}`);
  const info = { account, eventKey, attempt, willRetry };
  deps.registry.report(error, event === undefined ? info : { ...info, event }, deps.logger);
}

/** Records a failure; a store error is logged (the claim lapses and the event runs again). */
async function fail(deps: Deps, record: InboxRecord, error: string, retryAt: number | null): Promise<void> {
  try {
    await deps.store.inbox.fail(record.account, record.key, { error, retryAt, now: deps.clock.now() });
  } catch (thrown) {
    deps.logger.error(
      { account: record.account, eventKey: record.key, err: thrown },
      "could not record a failed handler run; the event will run again when its claim lapses",
    );
  }
}

const holdNote = (run: HandlerRun) =>
  `${describe(run.timeoutError as Error)} (still running; its retry waits until it settles)`;

/**
 * Runs events' handlers with a deadline read from the clock. A run past `handlerTimeoutMs` has its
 * signal aborted and counts as failed at once (`onError` is told), and frees its slot; but its event
 * stays held — in the store, by a retry time pushed forward while the run goes on, and in this
 * process — so the retry starts only after the run has settled.
 */
export function createEventRunner(deps: Deps): EventRunner {
  const { clock, config } = deps;
  const holdMs = config.handlerTimeoutMs + LEASE_MARGIN_MS;
  const runs = new Map<string, TrackedRun>();
  const lifecycles = new Set<Promise<void>>();
  let watchdog: NodeJS.Timeout | undefined;

  function check(): void {
    const now = clock.now();
    for (const run of runs.values()) {
      if (run.timeoutError === undefined) {
        if (now >= run.deadline) run.expire();
      } else if (run.renewal === undefined && now >= run.holdUntil - holdMs / 2) {
        // Still running after its timeout: push the retry time forward so no process can claim it.
        run.holdUntil = now + holdMs;
        run.renewal = fail(deps, run.record, holdNote(run), run.holdUntil).finally(() => {
          run.renewal = undefined;
        });
      }
    }
    if (runs.size === 0 && watchdog !== undefined) {
      clearInterval(watchdog);
      watchdog = undefined;
    }
  }

  function watch(): void {
    if (watchdog !== undefined) return;
    watchdog = setInterval(check, Math.max(1, Math.min(config.pollIntervalMs, config.handlerTimeoutMs)));
    watchdog.unref();
  }

  /** After a timeout: hold (or dead-letter) the event now; schedule its retry once the run settles. */
  async function timedOut(run: TrackedRun, observed: ObservedRun): Promise<void> {
    const { record } = run;
    const error = run.timeoutError as Error;
    const willRetry = record.attempts < config.maxAttempts;
    observed.finish(willRetry ? "timeout" : "dead_letter", error);
    run.holdUntil = willRetry ? clock.now() + holdMs : Number.POSITIVE_INFINITY;
    await fail(deps, record, willRetry ? holdNote(run) : describe(error), willRetry ? run.holdUntil : null);
    told(deps, record, error, willRetry, run.event, observed.trace);
    const lifecycle = run.settled.then(async () => {
      while (run.renewal !== undefined) await run.renewal;
      run.holdUntil = Number.POSITIVE_INFINITY;
      const retryAt = clock.now() + retryDelay(config, record.attempts);
      if (willRetry) await fail(deps, record, describe(error), retryAt);
      runs.delete(run.id);
    });
    lifecycles.add(lifecycle);
    void lifecycle.finally(() => lifecycles.delete(lifecycle));
  }

  async function run(record: InboxRecord): Promise<boolean> {
    const observed = observeRun(deps.telemetry, record);
    const event = parseStoredEvent(record.raw);
    if (event === undefined) {
      // Stored events were parsed before; this only happens if the row was altered. Keep it visible.
      const error = new MandrillKitPayloadError("the stored event is not valid JSON any more");
      observed.finish("dead_letter", error);
      await fail(deps, record, describe(error), null);
      told(deps, record, error, false, undefined, observed.trace);
      return false;
    }
    const handlers = deps.registry.handlersFor(record.type);
    const started = startRun(record, event, handlers, {
      now: clock.now(),
      timeoutMs: config.handlerTimeoutMs,
    });
    const tracked: TrackedRun = Object.assign(started, { holdUntil: Number.POSITIVE_INFINITY });
    runs.set(tracked.id, tracked);
    watch();
    const outcome = await Promise.race([tracked.settled, tracked.expired.then(() => undefined)]);
    if (outcome === undefined) {
      await timedOut(tracked, observed);
      return false;
    }
    runs.delete(tracked.id);
    if (outcome.ok) {
      observed.finish("ok");
      return true;
    }
    const willRetry = record.attempts < config.maxAttempts;
    observed.finish(willRetry ? "retry" : "dead_letter", outcome.error);
    const retryAt = willRetry ? clock.now() + retryDelay(config, record.attempts) : null;
    await fail(deps, record, describe(outcome.error), retryAt);
    told(deps, record, outcome.error, willRetry, event, observed.trace);
    return false;
  }

  return {
    run,
    isRunning: (record) => runs.has(runId(record)),
    holdBack: (record) =>
      fail(deps, record, "the previous run (timed out) is still going", clock.now() + holdMs),
    release: (record) => fail(deps, record, record.lastError ?? "", record.nextAttemptAt ?? clock.now()),
    async drain() {
      while (lifecycles.size > 0) await Promise.all([...lifecycles]);
      check();
    },
  };
}
