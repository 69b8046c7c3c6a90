export { diagnoseMismatch, type SignatureDiagnosis } from "./diagnose.js";
export {
  type AnyEventHandler,
  createDispatcher,
  type Dispatcher,
  type DispatcherOptions,
  type ErrorHandler,
  type EventHandler,
  type HandlerContext,
} from "./dispatcher.js";
export { checkFormContentType, decodeFormBody, FormBodyError } from "./form.js";
export { type IngestOutcome, inboxInputs, ingestEvents } from "./ingest.js";
export {
  type MandrillWebhooks,
  type MandrillWebhooksOptions,
  mandrillWebhooks,
} from "./mandrill-webhooks.js";
export { mandrillSignature, matchSignature, TEST_WEBHOOK_KEY, type WebhookForm } from "./signature.js";
