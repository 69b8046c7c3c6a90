import { type InboxRecord, type MandrillEvent, MandrillKitError } from "@mandrill-kit/core";
import { HandlerTimeoutError } from "./errors.js";
import type { AnyEventHandler, HandlerContext } from "./handler-registry.js";

/** How a run's handlers settled. */
export type RunOutcome = { ok: true } | { ok: false; error: Error };

/** One event's handlers running, with the deadline that aborts its signal. */
export interface HandlerRun {
  /** `account` and `key` of the event: a run is unique per event in a process. */
  readonly id: string;
  readonly record: InboxRecord;
  readonly event: MandrillEvent;
  /** Clock time after which the run is timed out. */
  readonly deadline: number;
  /** Resolves when the handlers have settled (never rejects). */
  readonly settled: Promise<RunOutcome>;
  /** Resolves when {@link HandlerRun.expire} was called. */
  readonly expired: Promise<void>;
  /** The error the signal was aborted with, once timed out. */
  readonly timeoutError: HandlerTimeoutError | undefined;
  /** Aborts the signal with a {@link HandlerTimeoutError} (once). */
  expire(): void;
}

export function runId(record: { account: string; key: string }): string {
  return `${record.account}\n${record.key}`;
}

function asError(thrown: unknown): Error {
  return thrown instanceof Error
    ? thrown
    : new MandrillKitError(
        "ERR_MK_WEBHOOK_HANDLER_FAILED",
        `handler threw a non-Error value: ${String(thrown)}`,
      );
}

/** Starts `handlers` one after the other for `event`; the caller watches `deadline` and calls `expire`. */
export function startRun(
  record: InboxRecord,
  event: MandrillEvent,
  handlers: readonly AnyEventHandler[],
  timing: { now: number; timeoutMs: number },
): HandlerRun {
  const controller = new AbortController();
  let timeoutError: HandlerTimeoutError | undefined;
  let markExpired = () => {};
  const expired = new Promise<void>((resolve) => {
    markExpired = resolve;
  });
  const context: HandlerContext = {
    account: record.account,
    receivedAt: new Date(record.receivedAt),
    eventKey: record.key,
    attempt: record.attempts,
    signal: controller.signal,
  };
  const settled = (async (): Promise<RunOutcome> => {
    try {
      for (const handler of handlers) {
        controller.signal.throwIfAborted();
        await handler(event, context);
      }
      return { ok: true };
    } catch (thrown) {
      return { ok: false, error: asError(thrown) };
    }
  })();
  return {
    id: runId(record),
    record,
    event,
    deadline: timing.now + timing.timeoutMs,
    settled,
    expired,
    get timeoutError() {
      return timeoutError;
    },
    expire() {
      if (timeoutError !== undefined) return;
      timeoutError = new HandlerTimeoutError(timing.timeoutMs);
      controller.abort(timeoutError);
      markExpired();
    },
  };
}
