import type { EventOfType, MandrillEvent, MandrillEventType } from "@mandrill-kit/core";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";

/** What a handler receives besides the event. */
export interface HandlerContext {
  account: string;
  /** When the kit received (and committed) the batch. */
  receivedAt: Date;
  /** The event's stable key (see `eventKey`); pass it to `replay()`. */
  eventKey: string;
  /** 1 for the first run, 2 for the first retry, … */
  attempt: number;
  /**
   * Aborted when the run exceeds `handlerTimeoutMs` (its reason is a `HandlerTimeoutError`). Pass it
   * to `fetch()` and database calls: the retry waits until this run has settled.
   */
  signal: AbortSignal;
}

/** A handler for one event type. Return (or resolve) to succeed; throw (or reject) to be retried. */
export type EventHandler<T extends MandrillEventType = MandrillEventType> = (
  event: EventOfType<T>,
  context: HandlerContext,
) => unknown | Promise<unknown>;

/** A handler for every event. */
export type AnyEventHandler = (event: MandrillEvent, context: HandlerContext) => unknown | Promise<unknown>;

/** What an {@link ErrorHandler} is told about a failed run. */
export interface ErrorInfo {
  account: string;
  eventKey: string;
  attempt: number;
  /** False when the event was dead-lettered (replay it to run it again). */
  willRetry: boolean;
  event?: MandrillEvent;
}

/** Told about every failed handler run (and events that cannot be read back). */
export type ErrorHandler = (error: Error, info: ErrorInfo) => void;

/** The handlers of one dispatcher, by event type (octokit's `on`/`onAny`/`onError`). */
export interface HandlerRegistry {
  on(type: MandrillEventType | readonly MandrillEventType[], handler: AnyEventHandler): void;
  onAny(handler: AnyEventHandler): void;
  onError(handler: ErrorHandler): void;
  /** Handlers for a stored event type (`unknown:<name>` is `unknown`), typed ones first. */
  handlersFor(type: string): AnyEventHandler[];
  /** True when no `on` or `onAny` handler is registered. */
  isEmpty(): boolean;
  /** The types with an `on` handler; `undefined` when an `onAny` handler wants every type. */
  wantedTypes(): string[] | undefined;
  /** Tells every error handler; one that throws is logged and does not stop the others. */
  report(error: Error, info: ErrorInfo, logger: ComponentLogger): void;
}

export function createHandlerRegistry(): HandlerRegistry {
  const byType = new Map<string, AnyEventHandler[]>();
  const anyHandlers: AnyEventHandler[] = [];
  const errorHandlers: ErrorHandler[] = [];
  return {
    on(type, handler) {
      for (const t of typeof type === "string" ? [type] : type) {
        const list = byType.get(t) ?? [];
        list.push(handler);
        byType.set(t, list);
      }
    },
    onAny(handler) {
      anyHandlers.push(handler);
    },
    onError(handler) {
      errorHandlers.push(handler);
    },
    handlersFor(type) {
      const typed = byType.get(type.startsWith("unknown:") ? "unknown" : type) ?? [];
      return [...typed, ...anyHandlers];
    },
    isEmpty: () => byType.size === 0 && anyHandlers.length === 0,
    wantedTypes: () => (anyHandlers.length > 0 ? undefined : [...byType.keys()]),
    report(error, info, logger) {
      for (const h of errorHandlers) {
        try {
          h(error, info);
        } catch (inner) {
          logger.error(
            { account: info.account, eventKey: info.eventKey, err: inner },
            "onError handler threw",
          );
        }
      }
    },
  };
}
