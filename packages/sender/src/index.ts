export { MandrillKitNetworkError, type NetworkPolicyOptions } from "@mandrill-kit/core";
export {
  AmbiguousRequestError,
  type ApiClient,
  type ApiClientOptions,
  createApiClient,
} from "./api-client.js";
export { hintFor, senderSideAdvice } from "./api-hints.js";
export type { DenylistSyncReport, SyncDenylistOptions } from "./denylist/sync-denylist.js";
export type { Diagnosis, DiagnosticCheck } from "./diagnose.js";
export { type MandrillRequestApi, type MandrillSenderMiddleware, mandrillSender } from "./mandrill-sender.js";
export { type MandrillUnsubscribeOptions, mandrillUnsubscribe } from "./mandrill-unsubscribe.js";
export {
  type Attachment,
  checkHeaders,
  type MergeLanguage,
  mandrillTime,
  type Recipient,
  type ResolvedRecipient,
  resolveRecipients,
  type SendMessage,
  toMandrillMessage,
} from "./message.js";
export type { SenderOptions, UnsubscribeOptions } from "./options.js";
export { requireSettings } from "./require-settings.js";
export { createSender, type Sender, type TestEmailOptions } from "./sender.js";
export type { TestEmailResult } from "./test-email.js";
export { defaultSmtpRoute, type SmtpOptions, type SmtpRoute } from "./transports/smtp.js";
export { type SmtpProblem, SmtpTransportError } from "./transports/smtp-errors.js";
export { mandrillSmtpHeaders } from "./transports/smtp-headers.js";
export type { Transport, TransportRequest } from "./transports/transport.js";
export {
  DEFAULT_UNSUBSCRIBE_MAX_AGE_MS,
  signUnsubscribeToken,
  type UnsubscribeClaim,
  type VerifyUnsubscribeOptions,
  verifyUnsubscribeToken,
} from "./unsubscribe-token.js";
