// The errors a simulator call throws, so tests need no direct import of the core.
export {
  isMandrillKitError,
  MandrillKitConfigError,
  MandrillKitError,
  MandrillKitNotFoundError,
  MandrillKitValidationError,
} from "@mandrill-kit/core";
export type {
  SimulatorAccountOptions,
  SimulatorDomainOptions,
  SimulatorKeyKind,
  SimulatorKeyOptions,
  SimulatorTemplateOptions,
} from "./account-options.js";
export type { ErrorStatusMode } from "./api-error.js";
export { DEMO_ACCOUNT, DEMO_KEYS } from "./demo-account.js";
export type { FaultHandle, FaultSpec, FaultTarget, SmtpStage } from "./faults.js";
export type { EmitDetails } from "./message-events.js";
export type { SimulatorOptions } from "./options.js";
export type {
  ApiLogEntry,
  EmittedEvent,
  OutboxMessage,
  OutboxRecipient,
  OutboxSmtpDetails,
  WebhookDelivery,
} from "./records.js";
export { MAGIC_ADDRESSES } from "./send-message.js";
export type { AddRejectInput, DenylistReason, SimulatorControl } from "./simulator-control.js";
export type { MessageState, SimulatorInspect, WebhookInspection } from "./simulator-inspect.js";
export { type Simulator, startSimulator } from "./start-simulator.js";
