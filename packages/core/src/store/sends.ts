import type { Page, PageOptions } from "./page.js";

/** One recipient of one send, as recorded. */
export interface SendRecordInput {
  account: string;
  /** Normalised recipient. */
  email: string;
  /** Kit status (`sent`, `queued`, `rejected`, `suppressed`, `unknown`, …). */
  status: string;
  /** Mandrill `_id`, when known. */
  messageId: string | null;
  rejectReason: string | null;
  transport: "api" | "smtp";
  /** The kit's correlation id for the whole send. */
  correlationId: string | null;
  subject: string | null;
  at?: number;
}

/** A recorded send recipient. */
export interface SendRecord extends Omit<SendRecordInput, "at"> {
  seq: number;
  at: number;
}

/** What was sent, to map Mandrill `_id`s back to accounts and recipients. */
export interface SendRepository {
  /** Records the recipients of one send in one transaction. */
  record(entries: readonly SendRecordInput[]): Promise<void>;
  /** The recipient record with this Mandrill `_id` (ids are unique per recipient). */
  findByMessageId(messageId: string): Promise<SendRecord | undefined>;
  /** Newest first; optionally one recipient's. */
  list(account: string, query?: { email?: string } & PageOptions): Promise<Page<SendRecord>>;
}
