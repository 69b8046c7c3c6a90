import { MandrillKitError } from "@mandrill-kit/core";

/**
 * Mandrill's API errors (docs/mandrill.md#api-errors): the names the simulator answers with, the `code` it puts in the
 * body, and the HTTP status in each `errorStatus` mode.
 */

/** How errors map to HTTP statuses: `legacy` = 500 for every error (what Mandrill has answered
 * historically), `modern` = the 4xx/5xx mapping of the 2026 OpenAPI file (docs/mandrill.md#api-errors). */
export type ErrorStatusMode = "legacy" | "modern";

/** The error names the simulator can answer with (a subset of docs/mandrill.md#api-errors). */
export const MANDRILL_ERROR_NAMES = [
  "Invalid_Key",
  "ValidationError",
  "GeneralError",
  "ServiceUnavailable",
  "PaymentRequired",
  "RequestLimitExceeded",
  "Unknown_Subaccount",
  "Unknown_Template",
  "Invalid_Template",
  "Unknown_Message",
  "Invalid_Reject",
  "Unknown_Sender",
  "Unknown_Webhook",
  "Unknown_Domain",
  "Unknown_Export",
] as const;

/** One of {@link MANDRILL_ERROR_NAMES}. */
export type MandrillErrorName = (typeof MANDRILL_ERROR_NAMES)[number];

// Codes vary between sources (docs/mandrill.md#api-errors); where two disagree the observed one wins over the spec's
// example. Clients must switch on `name`, never on `code`.
const TABLE: Record<MandrillErrorName, { code: number; modern: number }> = {
  Invalid_Key: { code: -1, modern: 401 },
  ValidationError: { code: -2, modern: 400 },
  GeneralError: { code: -1, modern: 500 },
  ServiceUnavailable: { code: -2, modern: 503 },
  PaymentRequired: { code: 10, modern: 402 },
  RequestLimitExceeded: { code: -1, modern: 429 },
  Unknown_Subaccount: { code: 12, modern: 404 },
  Unknown_Template: { code: 5, modern: 404 },
  Invalid_Template: { code: 6, modern: 422 },
  Unknown_Message: { code: 11, modern: 404 },
  Invalid_Reject: { code: 4, modern: 422 },
  Unknown_Sender: { code: 2, modern: 404 },
  Unknown_Webhook: { code: 3, modern: 404 },
  Unknown_Domain: { code: -1, modern: 404 },
  Unknown_Export: { code: 9, modern: 404 },
};

/** Mandrill's error body: exactly `{status, code, name, message}` (docs/mandrill.md#api-errors). */
export interface MandrillErrorBody {
  status: "error";
  code: number;
  name: MandrillErrorName;
  message: string;
}

/**
 * An error the simulator answers a Mandrill API call with (`ERR_MK_MANDRILL_API`, like the sender's
 * MandrillKitApiError for the real thing). Internal: never thrown to a host.
 */
export class MandrillApiError extends MandrillKitError {
  readonly mandrillName: MandrillErrorName;
  /** Seconds for a `Retry-After` header (rate limiting). */
  readonly retryAfterSeconds: number | undefined;
  /** An HTTP status that overrides the mode's mapping (rate limiting answers 429 in both modes). */
  readonly fixedStatus: number | undefined;

  constructor(
    name: MandrillErrorName,
    message: string,
    extra: { retryAfterSeconds?: number; fixedStatus?: number } = {},
  ) {
    super("ERR_MK_MANDRILL_API", message);
    this.mandrillName = name;
    this.retryAfterSeconds = extra.retryAfterSeconds;
    this.fixedStatus = extra.fixedStatus;
  }

  /** The JSON body Mandrill sends for this error. */
  body(): MandrillErrorBody {
    return {
      status: "error",
      code: TABLE[this.mandrillName].code,
      name: this.mandrillName,
      message: this.message,
    };
  }

  /** The HTTP status in `mode`. */
  status(mode: ErrorStatusMode): number {
    if (this.fixedStatus !== undefined) return this.fixedStatus;
    return mode === "legacy" ? 500 : TABLE[this.mandrillName].modern;
  }
}

/** `ValidationError` for a missing or unusable key: Mandrill's observed text (docs/mandrill.md#troubleshooting). */
export function missingKeyError(): MandrillApiError {
  return new MandrillApiError("ValidationError", "You must specify a key value");
}

/** `Invalid_Key` with Mandrill's observed text (docs/mandrill.md#api-keys). */
export function invalidKeyError(): MandrillApiError {
  return new MandrillApiError("Invalid_Key", "Invalid API key");
}

/** A `ValidationError` naming one parameter. */
export function validationError(message: string): MandrillApiError {
  return new MandrillApiError("ValidationError", `Validation error: ${message}`);
}
