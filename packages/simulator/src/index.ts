export { WEBHOOK_EVENTS } from "./api/webhooks.js";
export {
  type ErrorStatusMode,
  MANDRILL_ERROR_NAMES,
  type MandrillErrorBody,
  type MandrillErrorName,
} from "./api-error.js";
export { DENYLIST_DURATION_MS } from "./denylist.js";
export type { FaultHandle, FaultSpec, FaultTarget, SmtpStage } from "./faults.js";
export type { EmitDetails } from "./message-events.js";
export {
  DEMO_ACCOUNT,
  DEMO_KEYS,
  isLoopbackHost,
  type SimulatorAccountOptions,
  type SimulatorDomainOptions,
  type SimulatorKeyKind,
  type SimulatorKeyOptions,
  type SimulatorOptions,
  type SimulatorTemplateOptions,
} from "./options.js";
export type {
  ApiLogEntry,
  EmittedEvent,
  OutboxMessage,
  OutboxRecipient,
  OutboxSmtpDetails,
  WebhookDelivery,
} from "./records.js";
export { MAGIC_ADDRESSES } from "./send-message.js";
export { SMTP_AUTH_FAILED } from "./smtp-listener.js";
export {
  type AddRejectInput,
  type DenylistReason,
  type MessageState,
  type Simulator,
  type SimulatorControl,
  type SimulatorInspect,
  startSimulator,
  type WebhookInspection,
} from "./start-simulator.js";
export { webhookEventsJson } from "./webhook-dispatcher.js";
