import type { ErrorCode } from "./error-codes.js";
import { isMandrillKitError, MandrillKitSendError, MandrillKitValidationError } from "./errors.js";
import type { SendResult } from "./message.js";

/** The JSON error body every kit router sends: `{ error: { code, message, fields? } }`. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    fields?: { field: string; message: string }[];
    /** For `ERR_MK_SEND_REJECTED`: each recipient's status and reason. */
    result?: SendResult;
  };
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  ERR_MK_VALIDATION_FAILED: 422,
  ERR_MK_EMAIL_INVALID: 422,
  ERR_MK_ACCOUNT_INVALID: 400,
  ERR_MK_PAYLOAD_INVALID: 400,
  ERR_MK_FORBIDDEN: 403,
  ERR_MK_NOT_FOUND: 404,
  ERR_MK_STORE_CONFLICT: 409,
  ERR_MK_NOT_CONFIGURED: 409,
  ERR_MK_NETWORK_REFUSED: 409,
  ERR_MK_UNSUBSCRIBE_INVALID: 400,
  ERR_MK_UNSUBSCRIBE_EXPIRED: 410,
  ERR_MK_MANDRILL_API: 502,
  ERR_MK_TRANSPORT_FAILED: 502,
  ERR_MK_SEND_REJECTED: 422,
  ERR_MK_DENYLIST_EXPORT_FAILED: 502,
  ERR_MK_DENYLIST_EXPORT_INVALID: 502,
};

/**
 * HTTP status and body for an error thrown inside a kit router. Kit errors keep their code and
 * message (written to be shown, secrets already masked); anything else becomes a 500 with a generic
 * message so internals never leak.
 */
export function errorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (isMandrillKitError(error)) {
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    if (error instanceof MandrillKitValidationError && error.fields.length > 0)
      body.error.fields = [...error.fields];
    if (error instanceof MandrillKitSendError) body.error.result = error.result;
    return { status: STATUS[error.code] ?? 500, body };
  }
  return {
    status: 500,
    body: {
      error: { code: "ERR_MK_INTERNAL", message: "Something went wrong; the server log has the details." },
    },
  };
}
