/**
 * Row shapes and row → record mappers shared by the SQL store adapters (SQLite, PostgreSQL): both
 * use the same column names, so both read rows the same way. Not needed by hosts.
 */

import type {
  CredentialRecord,
  InboxRecord,
  InboxState,
  Page,
  SendRecord,
  Suppression,
  SuppressionReason,
  SuppressionSource,
} from "./store.js";
import { encodeCursor } from "./store-rules.js";

/** A `suppressions` row. */
export interface SuppressionRow {
  account: string;
  email: string;
  reason: string;
  source: string;
  detail: string | null;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  lifted_at: number | null;
  lifted_by: string | null;
  lift_reason: string | null;
}

/** An `inbox` row. */
export interface InboxRow {
  seq: number;
  account: string;
  key: string;
  type: string;
  email: string | null;
  message_id: string | null;
  event_at: number | null;
  raw: string;
  received_at: number;
  state: string;
  attempts: number;
  next_attempt_at: number | null;
  lease_until: number | null;
  last_error: string | null;
  completed_at: number | null;
}

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

/** A `credentials` row (settings and secrets as JSON text). */
export interface CredentialRow {
  account: string;
  version: number;
  settings: string;
  secrets: string;
  created_at: number;
  updated_at: number;
}

/** A `suppressions` row as a {@link Suppression}. */
export function toSuppression(row: SuppressionRow): Suppression {
  return {
    account: row.account,
    email: row.email,
    reason: row.reason as SuppressionReason,
    source: row.source as SuppressionSource,
    detail: row.detail,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    liftedAt: row.lifted_at,
    liftedBy: row.lifted_by,
    liftReason: row.lift_reason,
  };
}

/** An `inbox` row as an {@link InboxRecord}. */
export function toInbox(row: InboxRow): InboxRecord {
  return {
    seq: row.seq,
    account: row.account,
    key: row.key,
    type: row.type,
    email: row.email,
    messageId: row.message_id,
    eventAt: row.event_at,
    raw: row.raw,
    receivedAt: row.received_at,
    state: row.state as InboxState,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    leaseUntil: row.lease_until,
    lastError: row.last_error,
    completedAt: row.completed_at,
  };
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

/** A `credentials` row as a {@link CredentialRecord}. */
export function toCredential(row: CredentialRow): CredentialRecord {
  return {
    account: row.account,
    version: row.version,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    secrets: JSON.parse(row.secrets) as Record<string, string>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The first `limit` of `rows` (fetched with one extra to know if more follow) as a page. */
export function page<T>(rows: T[], limit: number, cursorOf: (row: T) => (string | number)[]): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next: rows.length > limit && last !== undefined ? encodeCursor(cursorOf(last)) : null };
}

/** Escapes `%`, `_` and `\\` for a `LIKE … ESCAPE '\\'` pattern. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
