/** Rules and row shape of the `sends` repository, shared by every store. */
import { requireAccountId } from "../account-id.js";
import { normalizeEmail } from "../email.js";
import { MandrillKitValidationError } from "../errors.js";
import type { SendRecord, SendRecordInput } from "../store.js";

/** A `sends` row. */
export interface SendRow {
  seq: number;
  account: string;
  email: string;
  status: string;
  message_id: string | null;
  reject_reason: string | null;
  transport: string;
  correlation_id: string | null;
  subject: string | null;
  at: number;
}

/** A `sends` row as a {@link SendRecord}. */
export function toSend(row: SendRow): SendRecord {
  return {
    seq: row.seq,
    account: row.account,
    email: row.email,
    status: row.status,
    messageId: row.message_id,
    rejectReason: row.reject_reason,
    transport: row.transport as "api" | "smtp",
    correlationId: row.correlation_id,
    subject: row.subject,
    at: row.at,
  };
}

/** A send record checked and normalised (account id, normalised address, time). */
export function normalizeSendRecord(e: SendRecordInput): Omit<SendRecordInput, "at"> & { at: number } {
  requireAccountId(e.account);
  const email = normalizeEmail(e.email);
  if (email === undefined) {
    throw new MandrillKitValidationError(
      "ERR_MK_EMAIL_INVALID",
      `sends.record: ${JSON.stringify(e.email)} is not an email address.`,
      [{ field: "email", message: "is not a valid email address" }],
    );
  }
  return {
    account: e.account,
    email,
    status: e.status,
    messageId: e.messageId,
    rejectReason: e.rejectReason,
    transport: e.transport,
    correlationId: e.correlationId,
    subject: e.subject,
    at: e.at ?? Date.now(),
  };
}

/**
 * The recipient filter of `sends.list`: `undefined` for every recipient, the normalised address, or
 * `null` when the asked address is not valid (the list is then empty).
 */
export function sendListEmail(query: { email?: string }): string | null | undefined {
  return query.email === undefined ? undefined : (normalizeEmail(query.email) ?? null);
}
