import { MandrillKitError, type MandrillKitErrorOptions } from "@mandrill-kit/core";

/** HTTP statuses a webhook body can be refused with before its signature is checked. */
export type BodyRefusalStatus = 400 | 408 | 413 | 415;

/** A webhook body refused before any signature check (wrong type, too large, too slow, malformed). */
export class FormBodyError extends MandrillKitError {
  constructor(
    /** The status the router answers with. */
    readonly status: BodyRefusalStatus,
    message: string,
  ) {
    super("ERR_MK_WEBHOOK_BODY_REFUSED", message);
  }
}

/**
 * A signed batch could not be stored. The Express router passes it to `next(err)` with `status`
 * 503 so the host's error handler and APM see it; Mandrill never gets a 2xx for it.
 */
export class WebhookNotStoredError extends MandrillKitError {
  /** HTTP status for error handlers that read `err.status` (Express's default one does). */
  readonly status = 503;
  /** The message is for logs, not for the client (http-errors convention). */
  readonly expose = false;

  constructor(
    readonly account: string,
    options?: MandrillKitErrorOptions,
  ) {
    super(
      "ERR_MK_WEBHOOK_NOT_STORED",
      `The webhook batch for account "${account.slice(0, 128)}" was not stored; the router answered 503, so Mandrill will retry it. See the cause.`,
      options,
    );
  }
}

/** A handler ran longer than `handlerTimeoutMs`; it is the reason of the run's aborted `signal`. */
export class HandlerTimeoutError extends MandrillKitError {
  constructor(readonly timeoutMs: number) {
    super(
      "ERR_MK_WEBHOOK_HANDLER_TIMEOUT",
      `handler did not finish within ${timeoutMs} ms; its signal was aborted and the run counts as failed (raise handlerTimeoutMs or make the handler honour context.signal)`,
    );
  }
}
