/**
 * `@mandrill-kit/core/plugin`: what the kit's plugins (credentials, sender, webhooks, the stores, the
 * simulator) share and a host app never calls: option checking, the kit context on a request, the
 * component logger and redaction, the network-policy checks, the webhook pipeline's building blocks
 * (parse, event keys, suppression effects, signing) and the telemetry handle. For authors of plugins
 * and of custom pipelines. Store adapters also need `@mandrill-kit/core/adapter`.
 */
export { eventKey } from "../event-key.js";
export { type HealthCheck, runHealthCheck } from "../health.js";
export { type InboxEventFields, Utf8InboxEvent } from "../inbox-event-utf8.js";
export { attachKitContext, findKitContext } from "../kit-context.js";
export { type ComponentLogger, componentLogger, type LogFields } from "../logger.js";
export {
  addressRange,
  checkAddress,
  checkHostName,
  checkPort,
  type NetworkPolicy,
  normalizeHost,
  parseIpLiteral,
  resolveNetworkPolicy,
} from "../network.js";
export { checkOptions, didYouMean } from "../options.js";
export {
  type EventProblem,
  type ParsedBatch,
  type ParseOutcome,
  parseMandrillEvents,
  parseStoredEvent,
  type UnreadableBatch,
} from "../parse-events.js";
export { parseMandrillEventsBytes, parseMandrillEventsBytesWithRanges } from "../parse-events-bytes.js";
export { maskSecret, redact } from "../redact.js";
export { parseMandrillTime, rejectSuppression, suppressionEffects } from "../suppression-policy.js";
export {
  attributeSets,
  createTelemetry,
  defaultTelemetry,
  endSpan,
  incomingContext,
  resolveMetricsOptions,
  secondsSince,
  summedCounter,
  suppressionChanges,
  type Telemetry,
  traceFields,
} from "../telemetry.js";
export {
  encodeForm,
  mandrillJson,
  mandrillSignature,
  type SignedWebhook,
  signWebhook,
  TEST_WEBHOOK_KEY,
  type WebhookForm,
} from "../webhook-signature.js";
