import { ERROR_CODES, type ErrorCode } from "./error-codes.js";
import type { SendResult } from "./message.js";

/** Options accepted by every mandrill-kit error constructor. */
export interface MandrillKitErrorOptions {
  /** The underlying error, kept for debugging (never shown to end users). */
  cause?: unknown;
}

/**
 * Base class of every error mandrill-kit throws. Switch on `code` (stable, documented in
 * `docs/errors.md`), not on the message or the class name.
 */
export class MandrillKitError extends Error {
  /** Stable error code, `ERR_MK_<AREA>_<REASON>`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options: MandrillKitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }

  /** What to do about this error, from the code table. */
  get advice(): string {
    return ERROR_CODES[this.code].advice;
  }
}

/** A factory option is wrong: thrown synchronously at start, before anything runs. */
export class MandrillKitConfigError extends MandrillKitError {
  /** Dotted path of the offending option, e.g. `"database.filename"`. */
  readonly option: string;

  constructor(
    code:
      | "ERR_MK_CONFIG_INVALID"
      | "ERR_MK_CONFIG_UNKNOWN_OPTION"
      | "ERR_MK_CONFIG_KEYS"
      | "ERR_MK_CONFIG_AUTH_REQUIRED"
      | "ERR_MK_KIT_NOT_MOUNTED",
    option: string,
    message: string,
    options?: MandrillKitErrorOptions,
  ) {
    super(code, message, options);
    this.option = option;
  }
}

/** One field-level problem of a {@link MandrillKitValidationError}. */
export interface FieldError {
  /** Field name as the caller spelled it (e.g. `"fromEmail"`, `"to[2].email"`). */
  field: string;
  /** What is wrong, in plain words. */
  message: string;
}

/** Input (from a person or a caller) failed validation. */
export class MandrillKitValidationError extends MandrillKitError {
  /** Every problem found, one per field. */
  readonly fields: readonly FieldError[];

  constructor(
    code: "ERR_MK_VALIDATION_FAILED" | "ERR_MK_ACCOUNT_INVALID" | "ERR_MK_EMAIL_INVALID",
    message: string,
    fields: readonly FieldError[] = [],
    options?: MandrillKitErrorOptions,
  ) {
    super(code, message, options);
    this.fields = fields;
  }
}

/** A webhook payload could not be read as Mandrill events. */
export class MandrillKitPayloadError extends MandrillKitError {
  constructor(message: string, options?: MandrillKitErrorOptions) {
    super("ERR_MK_PAYLOAD_INVALID", message, options);
  }
}

/** The storage backend failed, or was used wrongly (closed, stale version, newer schema). */
export class MandrillKitStoreError extends MandrillKitError {
  constructor(
    code:
      | "ERR_MK_STORE_CONFLICT"
      | "ERR_MK_STORE_CLOSED"
      | "ERR_MK_STORE_MIGRATION_FAILED"
      | "ERR_MK_STORE_SCHEMA_TOO_NEW"
      | "ERR_MK_STORE_FAILED",
    message: string,
    options?: MandrillKitErrorOptions,
  ) {
    super(code, message, options);
  }
}

/**
 * A stored secret could not be decrypted: malformed, unknown key, bound to another account or field,
 * or altered. Never carries any key material or plaintext.
 */
export class MandrillKitCryptoError extends MandrillKitError {
  constructor(
    code:
      | "ERR_MK_CRYPTO_MALFORMED"
      | "ERR_MK_CRYPTO_UNKNOWN_KEY"
      | "ERR_MK_CRYPTO_WRONG_BINDING"
      | "ERR_MK_CRYPTO_DECRYPT_FAILED",
    message: string,
    options?: MandrillKitErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** The named account, record or event does not exist. */
export class MandrillKitNotFoundError extends MandrillKitError {
  constructor(message: string, options?: MandrillKitErrorOptions) {
    super("ERR_MK_NOT_FOUND", message, options);
  }
}

/** Mandrill answered with an error body `{status:"error", code, name, message}` (docs/mandrill.md#api-errors). */
export class MandrillKitApiError extends MandrillKitError {
  /** Mandrill's error name (`Invalid_Key`, `ValidationError`, `ServiceUnavailable`…): switch on this, not on `status`. */
  readonly mandrillName: string;
  /** HTTP status Mandrill used (legacy Mandrill answers 500 for every error). */
  readonly status: number;
  /**
   * What it means and what to do, in plain words. `message` already ends with it; use `hint` alone
   * where the error's name is shown apart (a UI's advice line), not both, or it is said twice.
   */
  readonly hint: string;
  /** True when the kit may retry (Mandrill said the request was not processed). */
  readonly retryable: boolean;

  constructor(
    init: { mandrillName: string; status: number; message: string; hint: string; retryable: boolean },
    options?: MandrillKitErrorOptions,
  ) {
    super(
      "ERR_MK_MANDRILL_API",
      `Mandrill answered ${init.mandrillName}: ${init.message} — ${init.hint}`,
      options,
    );
    this.mandrillName = init.mandrillName;
    this.status = init.status;
    this.hint = init.hint;
    this.retryable = init.retryable;
  }
}

/** Mandrill could not be reached, or did not answer in time. */
export class MandrillKitTransportError extends MandrillKitError {
  /** True when the request provably did not reach Mandrill (safe to retry). */
  readonly retryable: boolean;

  constructor(message: string, retryable: boolean, options?: MandrillKitErrorOptions) {
    super("ERR_MK_TRANSPORT_FAILED", message, options);
    this.retryable = retryable;
  }
}

/** Mandrill rejected every recipient of a send. `result` has each recipient's status and reason. */
export class MandrillKitSendError extends MandrillKitError {
  readonly result: SendResult;

  constructor(message: string, result: SendResult) {
    super("ERR_MK_SEND_REJECTED", message);
    this.result = result;
  }
}

/** The account is not set up for this operation. */
export class MandrillKitNotConfiguredError extends MandrillKitError {
  constructor(message: string) {
    super("ERR_MK_NOT_CONFIGURED", message);
  }
}

/** The request was refused by the host's authorisation hook. */
export class MandrillKitForbiddenError extends MandrillKitError {
  constructor(message: string) {
    super("ERR_MK_FORBIDDEN", message);
  }
}

/** True when `error` is a mandrill-kit error, optionally with the given code. */
export function isMandrillKitError(error: unknown, code?: ErrorCode): error is MandrillKitError {
  return error instanceof MandrillKitError && (code === undefined || error.code === code);
}
