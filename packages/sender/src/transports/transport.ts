import type { MandrillSettings, MandrillTransport, RecipientResult } from "@mandrill-kit/core";
import type { ResolvedRecipient, SendMessage } from "../message.js";

/** One send handed to a transport: suppressed recipients are already removed. */
export interface TransportRequest {
  /** The account's settings (decrypted). */
  settings: MandrillSettings;
  /** The caller's message (never mutated). */
  message: SendMessage;
  /** The recipients to send to, in order; at least one. */
  recipients: readonly ResolvedRecipient[];
  /** Goes into the metadata (`mk_correlation_id`) so webhooks map back to this send. */
  correlationId: string;
  /** Headers the kit adds (one-click unsubscribe); the message's own `headers` win over them. */
  headers: Readonly<Record<string, string>>;
}

/**
 * The contract every transport of the sender meets (nodemailer's transport interface, reduced to
 * what Mandrill needs):
 *
 * - `send` resolves one {@link RecipientResult} per recipient, in the request's order. A recipient
 *   whose fate is not known (the request may have reached Mandrill, no answer came back) is
 *   `unknown` and is never sent again. It rejects — with `MandrillKitApiError`,
 *   `MandrillKitTransportError` or `MandrillKitNetworkError` — only when nothing was handed over.
 * - `verify` checks that the account can send this way (API: the key is accepted; SMTP: connect,
 *   TLS and login); it rejects with the same errors as `send`.
 * - `close` releases connections; the transport is not used afterwards.
 *
 * Error messages never carry bytes received from the peer: they are shown to tenants.
 */
export interface Transport {
  readonly name: MandrillTransport;
  send(request: TransportRequest): Promise<RecipientResult[]>;
  verify(settings: MandrillSettings): Promise<void>;
  close(): Promise<void>;
}

/** A recipient's result with the fields a status does not set left empty. */
export function recipientResult(
  email: string,
  status: RecipientResult["status"],
  extra: Partial<RecipientResult> = {},
): RecipientResult {
  return {
    email,
    status,
    messageId: null,
    rejectReason: null,
    rejectSide: null,
    queuedReason: null,
    ...extra,
  };
}

/** The same status for every recipient of a request. */
export function everyRecipient(
  recipients: readonly ResolvedRecipient[],
  status: RecipientResult["status"],
  extra: Partial<RecipientResult> = {},
): RecipientResult[] {
  return recipients.map((r) => recipientResult(r.email, status, extra));
}
