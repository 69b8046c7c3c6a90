export type { WebhookForm } from "@mandrill-kit/core/plugin";
export type { SignatureDiagnosis } from "./diagnose.js";
export type { DispatchOptions } from "./dispatch-options.js";
export { createDispatcher, type Dispatcher, type DispatcherOptions } from "./dispatcher.js";
export { FormBodyError, HandlerTimeoutError, WebhookNotStoredError } from "./errors.js";
export type {
  AnyEventHandler,
  ErrorHandler,
  ErrorInfo,
  EventHandler,
  HandlerContext,
} from "./handler-registry.js";
export { type IngestEventsOptions, type IngestOutcome, ingestEvents } from "./ingest-events.js";
export { type MandrillWebhooks, mandrillWebhooks } from "./mandrill-webhooks.js";
export { type Received, type ReceiveOptions, receive, type WebhookReply } from "./receive.js";
export {
  type Refusal,
  type RefusalReason,
  type RequestHeaders,
  type VerifyRequestInput,
  type VerifyResult,
  verifyRequest,
} from "./verify-request.js";
export type { MandrillWebhooksOptions } from "./webhooks-options.js";
