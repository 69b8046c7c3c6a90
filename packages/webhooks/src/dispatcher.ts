import {
  type Clock,
  type Logger,
  type MandrillEventType,
  MandrillKitConfigError,
  MandrillKitError,
  type MetricsOptions,
  type Store,
  silentLogger,
  systemClock,
} from "@mandrill-kit/core";
import {
  type ComponentLogger,
  checkOptions,
  componentLogger,
  createTelemetry,
  defaultTelemetry,
  resolveMetricsOptions,
  type Telemetry,
} from "@mandrill-kit/core/plugin";
import { claimAndRun, completeUnwanted, UNWANTED_SLICE } from "./claim-round.js";
import {
  DISPATCH_OPTION_NAMES,
  type DispatchConfig,
  type DispatchOptions,
  resolveDispatchOptions,
} from "./dispatch-options.js";
import { createEventRunner, LEASE_MARGIN_MS } from "./event-runner.js";
import {
  type AnyEventHandler,
  createHandlerRegistry,
  type ErrorHandler,
  type EventHandler,
  type HandlerRegistry,
} from "./handler-registry.js";
import { webhookInstruments } from "./telemetry.js";

/** Options of {@link createDispatcher}. */
export interface DispatcherOptions extends DispatchOptions {
  /** The store whose inbox holds the events. */
  store: Store;
  /** @default silentLogger */
  logger?: Logger;
  /** Where retry times, leases and handler deadlines are read. @default systemClock */
  clock?: Clock;
  /** OpenTelemetry options (account attribute, providers). @default the global providers */
  metrics?: MetricsOptions;
}

/** Runs handlers for inbox events: at-least-once, retried with backoff, dead-lettered, replayable. */
export interface Dispatcher {
  on<T extends MandrillEventType>(type: T | readonly T[], handler: EventHandler<T>): void;
  onAny(handler: AnyEventHandler): void;
  onError(handler: ErrorHandler): void;
  /** Starts polling the inbox now (idempotent): pending events and due retries run without any request. */
  start(): void;
  /** Asks for a poll now (after an ingest). */
  wake(): void;
  /** Claims and runs every event due now, once; resolves when those runs have finished or timed out. */
  runDue(): Promise<number>;
  /** Makes a done or dead event pending again; `false` if unknown. */
  replay(account: string, eventKey: string): Promise<boolean>;
  /** Stops polling and waits for every run in flight to settle, timed-out ones included. */
  close(): Promise<void>;
}

/** The running part of a dispatcher, without the handler registration methods. */
export type DispatchLoop = Omit<Dispatcher, "on" | "onAny" | "onError"> & {
  readonly started: boolean;
  /** Health of the loop: resolves with a detail, or throws what is wrong (see `kit.health()`). */
  health(): string | undefined;
};

/** How long a wake-up waits for more batches before polling. */
const WAKE_DELAY_MS = 25;
/** Registers the backlog gauges (read from the store at each collection); returns their removal. */
function observeBacklogOf(deps: {
  store: Store;
  clock: Clock;
  logger: ComponentLogger;
  telemetry?: Telemetry;
}) {
  return webhookInstruments(deps.telemetry ?? defaultTelemetry()).observeBacklog(
    deps.store,
    deps.clock,
    deps.logger,
  );
}

/** The loop's health from its state: a detail when fine, or throws what is wrong (see `kit.health()`). */
function loopHealth(state: {
  closed: boolean;
  started: boolean;
  polling: Promise<number> | undefined;
  timer: NodeJS.Timeout | undefined;
  beatAt: number;
  clock: Clock;
  leaseMs: number;
  pollIntervalMs: number;
}): string | undefined {
  if (state.closed) throw new MandrillKitError("ERR_MK_HEALTH_CHECK_FAILED", "the dispatcher was closed");
  if (!state.started)
    return "not started in this process (events stay pending for a process that dispatches)";
  const stalledMs = state.clock.now() - state.beatAt;
  // beatAt is 0 until the first claim of this process.
  if (state.polling !== undefined && state.beatAt > 0 && stalledMs > state.leaseMs + state.pollIntervalMs)
    throw new MandrillKitError(
      "ERR_MK_HEALTH_CHECK_FAILED",
      `a dispatch round has not moved for ${Math.round(stalledMs / 1000)} s, longer than its claims' lease`,
    );
  // A wake-up also sets the timer.
  if (state.polling === undefined && state.timer === undefined)
    throw new MandrillKitError(
      "ERR_MK_HEALTH_CHECK_FAILED",
      "the dispatch loop is not scheduled to poll again",
    );
  return undefined;
}

/**
 * The claim loop. Events of types no handler here wants are completed set-based, without being
 * claimed (`inbox.completeUnwanted`, one statement per slice), and claims take only wanted types;
 * on a store without `completeUnwanted`, claims take every type and such events are completed with
 * the claim's batch (one `completeMany` per claim). Every claimed event runs its handlers. A process
 * without any handler claims and completes nothing: it leaves events to the processes that have them.
 */
export function createDispatchLoop(deps: {
  store: Store;
  logger: ComponentLogger;
  clock: Clock;
  config: DispatchConfig;
  registry: HandlerRegistry;
  telemetry?: Telemetry;
}): DispatchLoop {
  const { store, logger, clock, config, registry } = deps;
  const { concurrency, handlerTimeoutMs, pollIntervalMs } = config;
  const runner = createEventRunner({ ...deps, telemetry: deps.telemetry ?? defaultTelemetry() });
  // Handler runs taken from one claim. The lease covers them: with `concurrency` workers, the last
  // one waits for at most ceil(budget / concurrency) - 1 runs (each cut at the timeout) before its own.
  const runBudget = concurrency * 4;
  const leaseMs = Math.ceil(runBudget / concurrency) * handlerTimeoutMs + LEASE_MARGIN_MS;
  let claimSize = runBudget;
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  let closed = false;
  let polling: Promise<number> | undefined;
  let again = false;
  let woken = false;
  let beatAt = 0;
  /** When unwanted events were last swept (see {@link poll}); whether the next round must sweep. */
  let sweptAt = Number.NEGATIVE_INFINITY;
  let sweepNext = false;
  let unobserve: (() => void) | undefined;

  /** One claim and its runs (see {@link claimAndRun}); the next claim's size follows from it. */
  async function claimOnce(): Promise<{ claimed: number; full: boolean }> {
    beatAt = clock.now();
    const round = await claimAndRun(
      { store, registry, runner, clock, logger, concurrency, runBudget, leaseMs },
      claimSize,
    );
    if (round.nextSize !== undefined) claimSize = round.nextSize;
    return round;
  }

  /**
   * One round: claims until a claim comes back short of its limit (every event due when it was made
   * is then taken; a batch ingested meanwhile wakes another round), and completes unwanted events
   * until a slice comes back short — not one more empty claim and completion per round. A round woken
   * by an ingest skips the unwanted sweep (this process stores unwanted types done at ingest) unless
   * the last sweep is a poll interval old: events other processes or earlier runs left pending are
   * swept by timed rounds, runDue() and at least once per poll interval under sustained load.
   */
  async function poll(sweep = true): Promise<number> {
    let total = 0;
    let unwantedLeft = sweep || clock.now() - sweptAt >= pollIntervalMs;
    if (unwantedLeft) sweptAt = clock.now();
    // A process without any handler leaves events to the processes that have them.
    while (!closed && !registry.isEmpty()) {
      if (unwantedLeft) {
        const completed = await completeUnwanted(deps);
        total += completed;
        unwantedLeft = completed >= UNWANTED_SLICE;
      }
      if (closed) break;
      const { claimed, full } = await claimOnce();
      total += claimed;
      if (!full && !unwantedLeft) break;
    }
    return total;
  }

  function schedule(): void {
    if (!started || closed || timer !== undefined) return;
    // Not unref'd: a started dispatcher keeps its process alive, like a listening server, until close().
    timer = setTimeout(() => tick(true), pollIntervalMs);
  }

  /** A round now (or after the one in flight); `sweep` for timed rounds (see {@link poll}). */
  function tick(sweep = false): void {
    timer = undefined;
    woken = false;
    sweepNext ||= sweep;
    if (closed) return;
    if (polling !== undefined) {
      again = true;
      return;
    }
    const sweeping = sweepNext;
    sweepNext = false;
    polling = poll(sweeping).finally(() => {
      polling = undefined;
      if (again) {
        again = false;
        tick();
      } else schedule();
    });
  }

  function wake(): void {
    if (!started || closed || woken) return;
    // Coalesce: a burst of batches costs one claim transaction, not one per batch.
    woken = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      woken = false;
      tick();
    }, WAKE_DELAY_MS);
  }

  return {
    get started() {
      return started;
    },
    health: () => loopHealth({ closed, started, polling, timer, beatAt, clock, leaseMs, pollIntervalMs }),
    start() {
      if (started || closed) return;
      started = true;
      unobserve = observeBacklogOf(deps);
      if (registry.isEmpty())
        logger.info(
          {},
          "dispatching started without handlers: events stay pending for a process that registers them",
        );
      tick();
    },
    wake,
    async runDue() {
      while (polling !== undefined) await polling;
      const run = poll();
      polling = run;
      try {
        return await run;
      } finally {
        polling = undefined;
      }
    },
    async replay(account, eventKey) {
      const ok = await store.inbox.replay(account, eventKey, { now: clock.now() });
      if (ok) wake();
      return ok;
    },
    async close() {
      closed = true;
      unobserve?.();
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (polling !== undefined) await polling.catch(() => undefined);
      // Timed-out runs too: until one settles, its retry must not start anywhere (the hold is renewed).
      await runner.drain();
    },
  };
}

const DISPATCHER_OPTION_NAMES = ["store", "logger", "clock", "metrics", ...DISPATCH_OPTION_NAMES] as const;

/** Creates a dispatcher (it knows no HTTP: the Express router and queue workers both use it). */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const o = checkOptions("createDispatcher", options, DISPATCHER_OPTION_NAMES) as Partial<DispatcherOptions>;
  if (o.store === undefined || typeof o.store !== "object" || o.store === null || !("inbox" in o.store)) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "store",
      "createDispatcher() needs { store }: the store the webhook router ingests into, e.g. openSqliteStore({ filename }).",
    );
  }
  const registry = createHandlerRegistry();
  const loop = createDispatchLoop({
    store: o.store,
    logger: componentLogger(o.logger ?? silentLogger, { component: "webhooks" }),
    clock: o.clock ?? systemClock,
    config: resolveDispatchOptions("createDispatcher", o),
    registry,
    telemetry:
      o.metrics === undefined
        ? undefined
        : createTelemetry(resolveMetricsOptions("createDispatcher", o.metrics)),
  });
  return {
    on: (type, handler) => registry.on(type, handler as AnyEventHandler),
    onAny: (handler) => registry.onAny(handler),
    onError: (handler) => registry.onError(handler),
    start: () => loop.start(),
    wake: () => loop.wake(),
    runDue: () => loop.runDue(),
    replay: (account, eventKey) => loop.replay(account, eventKey),
    close: () => loop.close(),
  };
}
