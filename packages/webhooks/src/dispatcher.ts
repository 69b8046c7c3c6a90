import {
  type ComponentLogger,
  type EventOfType,
  type InboxRecord,
  type MandrillEvent,
  type MandrillEventType,
  parseMandrillEvents,
  type Store,
} from "@mandrill-kit/core";

/** What a handler receives besides the event. */
export interface HandlerContext {
  account: string;
  /** When the kit received (and committed) the batch. */
  receivedAt: Date;
  /** The event's stable key (see `eventKey`); pass it to `replay()`. */
  eventKey: string;
  /** 1 for the first run, 2 for the first retry, … */
  attempt: number;
}

/** A handler for one event type. Return (or resolve) to succeed; throw (or reject) to be retried. */
export type EventHandler<T extends MandrillEventType = MandrillEventType> = (
  event: EventOfType<T>,
  context: HandlerContext,
) => unknown | Promise<unknown>;

/** A handler for every event. */
export type AnyEventHandler = (event: MandrillEvent, context: HandlerContext) => unknown | Promise<unknown>;

/** Told about every failed handler run (and events that cannot be read back). */
export type ErrorHandler = (
  error: Error,
  info: { account: string; eventKey: string; attempt: number; willRetry: boolean; event?: MandrillEvent },
) => void;

/** Options of {@link createDispatcher}. */
export interface DispatcherOptions {
  store: Store;
  logger: ComponentLogger;
  /** Runs per event before it is dead-lettered. @default 8 */
  maxAttempts?: number;
  /** First retry delay; doubles each time (±20% jitter). @default 2000 */
  retryBaseMs?: number;
  /** Longest retry delay. @default 900000 (15 minutes) */
  retryMaxMs?: number;
  /** How often the inbox is polled for due events (new ones also wake it at once). @default 1000 */
  pollIntervalMs?: number;
  /** Events run at the same time in this process. @default 4 */
  concurrency?: number;
  /** A run still going after this long counts as failed (and its claim lapses soon after). @default 30000 */
  handlerTimeoutMs?: number;
}

/** Runs handlers for inbox events: at-least-once, retried with backoff, dead-lettered, replayable. */
export interface Dispatcher {
  on<T extends MandrillEventType>(type: T | readonly T[], handler: EventHandler<T>): void;
  onAny(handler: AnyEventHandler): void;
  onError(handler: ErrorHandler): void;
  /** True when some handler wants events of `type` (the router stores the others as already done). */
  wants(type: string): boolean;
  /** Starts polling (idempotent). */
  start(): void;
  /** Asks for a poll now (after an ingest). */
  wake(): void;
  /** Claims and runs every event due now, once; resolves when those runs have finished. */
  runDue(): Promise<number>;
  /** Makes a done or dead event pending again; `false` if unknown. */
  replay(account: string, eventKey: string): Promise<boolean>;
  /** Stops polling and waits for runs in flight. */
  close(): Promise<void>;
}

/** How long a wake-up waits for more batches before polling. */
const WAKE_DELAY_MS = 25;

class HandlerTimeoutError extends Error {
  constructor(ms: number) {
    super(`handler did not finish within ${ms} ms`);
    this.name = "HandlerTimeoutError";
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HandlerTimeoutError(ms)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Creates the dispatcher (it knows no HTTP: the Express adapter and queues both use it). */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { store, logger } = options;
  const maxAttempts = options.maxAttempts ?? 8;
  const retryBaseMs = options.retryBaseMs ?? 2000;
  const retryMaxMs = options.retryMaxMs ?? 15 * 60_000;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const concurrency = options.concurrency ?? 4;
  const handlerTimeoutMs = options.handlerTimeoutMs ?? 30_000;
  const leaseMs = handlerTimeoutMs + 30_000;
  const byType = new Map<string, AnyEventHandler[]>();
  const anyHandlers: AnyEventHandler[] = [];
  const errorHandlers: ErrorHandler[] = [];
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  let closed = false;
  let polling: Promise<number> | undefined;
  let again = false;
  let woken = false;

  function report(error: Error, info: Parameters<ErrorHandler>[1]): void {
    for (const h of errorHandlers) {
      try {
        h(error, info);
      } catch (inner) {
        logger.error({ account: info.account, eventKey: info.eventKey, err: inner }, "onError handler threw");
      }
    }
  }

  function retryDelay(attempt: number): number {
    const base = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  /** Runs one event's handlers; resolves true when it succeeded (completed later, in a batch). */
  async function runOne(record: InboxRecord): Promise<boolean> {
    const context: HandlerContext = {
      account: record.account,
      receivedAt: new Date(record.receivedAt),
      eventKey: record.key,
      attempt: record.attempts,
    };
    const parsed = parseMandrillEvents(`[${record.raw}]`);
    const event = parsed.ok ? parsed.events[0] : undefined;
    if (event === undefined) {
      // Stored events were parsed before; this only happens if the row was altered. Keep it visible.
      const error = new Error("the stored event is not valid JSON any more");
      await store.inbox.fail(record.account, record.key, { error: error.message, retryAt: null });
      report(error, {
        account: record.account,
        eventKey: record.key,
        attempt: record.attempts,
        willRetry: false,
      });
      return false;
    }
    const handlers = [...(byType.get(event.type) ?? []), ...anyHandlers];
    try {
      for (const handler of handlers)
        await withTimeout(
          Promise.resolve().then(() => handler(event, context)),
          handlerTimeoutMs,
        );
      return true;
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      const willRetry = record.attempts < maxAttempts;
      const retryAt = willRetry ? Date.now() + retryDelay(record.attempts) : null;
      await store.inbox.fail(record.account, record.key, {
        error: `${error.name}: ${error.message}`.slice(0, 2000),
        retryAt,
      });
      (willRetry ? logger.warn : logger.error)(
        {
          account: record.account,
          eventKey: record.key,
          type: event.type,
          attempt: record.attempts,
          willRetry,
        },
        willRetry
          ? `handler failed; retrying: ${error.message}`
          : `handler failed ${record.attempts} times; dead-lettered: ${error.message}`,
      );
      report(error, {
        account: record.account,
        eventKey: record.key,
        attempt: record.attempts,
        willRetry,
        event,
      });
      return false;
    }
  }

  async function poll(): Promise<number> {
    let total = 0;
    for (;;) {
      const slots = concurrency - inFlight.size;
      if (slots <= 0 || closed) break;
      let claimed: InboxRecord[];
      try {
        claimed = await store.inbox.claim({ limit: Math.min(slots * 4, 200), leaseMs });
      } catch (error) {
        logger.error({ err: error }, "could not claim inbox events");
        break;
      }
      if (claimed.length === 0) break;
      total += claimed.length;
      // Run up to `concurrency` at once; the rest of the claim waits its turn (its lease covers it).
      const queue = [...claimed];
      const succeeded: { account: string; key: string }[] = [];
      const workers = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        for (let record = queue.shift(); record !== undefined; record = queue.shift()) {
          const current = record;
          const run = runOne(current).then(
            (ok) => {
              if (ok) succeeded.push({ account: current.account, key: current.key });
            },
            (error: unknown) => logger.error({ account: current.account, err: error }, "dispatch failed"),
          );
          inFlight.add(run);
          await run;
          inFlight.delete(run);
        }
      });
      await Promise.all(workers);
      // One transaction for the whole claim: completing event by event would cost an fsync each.
      if (succeeded.length > 0) {
        try {
          await store.inbox.completeMany(succeeded);
        } catch (error) {
          // The claims lapse and the events run again: at-least-once, never lost.
          logger.error(
            { err: error, events: succeeded.length },
            "could not mark handled events done; they will run again",
          );
        }
      }
    }
    return total;
  }

  function schedule(): void {
    if (!started || closed || timer !== undefined) return;
    timer = setTimeout(tick, pollIntervalMs);
    timer.unref();
  }

  function tick(): void {
    timer = undefined;
    woken = false;
    if (closed) return;
    if (polling !== undefined) {
      again = true;
      return;
    }
    polling = poll().finally(() => {
      polling = undefined;
      if (again) {
        again = false;
        tick();
      } else schedule();
    });
  }

  const dispatcher: Dispatcher = {
    on(type, handler) {
      for (const t of Array.isArray(type) ? type : [type]) {
        const list = byType.get(t) ?? [];
        list.push(handler as AnyEventHandler);
        byType.set(t, list);
      }
    },
    onAny(handler) {
      anyHandlers.push(handler);
    },
    wants(type) {
      return anyHandlers.length > 0 || (byType.get(type)?.length ?? 0) > 0;
    },
    onError(handler) {
      errorHandlers.push(handler);
    },
    start() {
      if (started || closed) return;
      started = true;
      tick();
    },
    wake() {
      if (!started || closed || woken) return;
      // Coalesce: a burst of batches costs one claim transaction, not one per batch.
      woken = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        woken = false;
        tick();
      }, WAKE_DELAY_MS);
      timer.unref();
    },
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
      const ok = await store.inbox.replay(account, eventKey);
      if (ok) dispatcher.wake();
      return ok;
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (polling !== undefined) await polling.catch(() => undefined);
      await Promise.all([...inFlight]);
    },
  };
  return dispatcher;
}
