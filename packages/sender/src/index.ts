export {
  AmbiguousRequestError,
  type ApiClient,
  type ApiClientOptions,
  createApiClient,
} from "./api-client.js";
export { hintFor } from "./api-hints.js";
export { type Diagnosis, type DiagnosticCheck, diagnose } from "./diagnose.js";
export { type MandrillRequestApi, type MandrillSenderMiddleware, mandrillSender } from "./mandrill-sender.js";
export { type MandrillUnsubscribeOptions, mandrillUnsubscribe } from "./mandrill-unsubscribe.js";
export {
  type Attachment,
  type MergeLanguage,
  mandrillTime,
  type Recipient,
  type ResolvedRecipient,
  resolveRecipients,
  type SendMessage,
  toMandrillMessage,
} from "./message.js";
export {
  createSender,
  requireSettings,
  type Sender,
  type SenderOptions,
  senderSideAdvice,
  type UnsubscribeOptions,
} from "./sender.js";
export {
  defaultSmtpRoute,
  mandrillSmtpHeaders,
  type SmtpOptions,
  SmtpPools,
  type SmtpRoute,
} from "./smtp-transport.js";
export { type TestEmailResult, testMessage } from "./test-email.js";
export { signUnsubscribeToken, type UnsubscribeClaim, verifyUnsubscribeToken } from "./unsubscribe-token.js";
