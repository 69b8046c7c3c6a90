/**
 * `@mandrill-kit/core`: what a host app uses directly or meets in the plugins' options and results —
 * the in-memory store and the `Store` interfaces, Mandrill's event and send models, errors and their
 * codes, the logger shape, `Secret`, email and account-id helpers, settings, the suppression policy,
 * the kit context and `errorResponse()` for a host's error handler.
 *
 * Other audiences have their own subpaths: `@mandrill-kit/core/plugin` (what the kit's plugins share:
 * option checks, component logger, network checks, webhook parsing and signing, telemetry),
 * `@mandrill-kit/core/adapter` (rules every store adapter applies) and `@mandrill-kit/core/testing`
 * (store contract suite, `eventually()`, `manualClock()`). test/public-surface.test.ts lists this entry's
 * names: a change to it is a conscious edit there.
 */
// Account ids: the tenant key in every URL, file name and row.
export { isAccountId, requireAccountId } from "./account-id.js";
// Where the kit reads the time (`clock` options; tests pass `manualClock()` from ./testing).
export { type Clock, systemClock } from "./clock.js";
// The kit's one email normalisation: every address is stored, compared and looked up in this form.
export { isEmail, normalizeEmail, requireEmail } from "./email.js";
// Errors: everything the kit throws is a MandrillKitError with a stable `code` from ERROR_CODES.
export { ERROR_CODES, type ErrorCode } from "./error-codes.js";
export {
  type FieldError,
  isMandrillKitError,
  MandrillKitApiError,
  MandrillKitConfigError,
  MandrillKitCryptoError,
  MandrillKitError,
  type MandrillKitErrorOptions,
  MandrillKitForbiddenError,
  MandrillKitNotConfiguredError,
  MandrillKitNotFoundError,
  MandrillKitPayloadError,
  MandrillKitSendError,
  MandrillKitStoreError,
  MandrillKitTransportError,
  MandrillKitValidationError,
} from "./errors.js";
// Mandrill's webhook events, as the webhook handlers receive them.
export {
  type AllowlistEntry,
  type BlacklistAction,
  type BlacklistEvent,
  type EventOfType,
  type InboundEvent,
  type InboundEventPayload,
  type InboundMessage,
  isMessageEventType,
  type MandrillEvent,
  type MandrillEventType,
  MESSAGE_EVENT_TYPES,
  type MessageEvent,
  type MessageEventPayload,
  type MessageEventType,
  type MessageSnapshot,
  type MessageState,
  type RejectEntry,
  type SmtpEvent,
  SYNC_EVENT_TYPES,
  type SyncEvent,
  type SyncEventPayload,
  type SyncEventType,
  type UnknownEvent,
  type WhitelistAction,
  type WhitelistEvent,
} from "./events.js";
// What `kit.health()` answers.
export type { HealthCheckResult, KitHealth } from "./health.js";
// Status and JSON body of a kit error, for a host's own error handler.
export { type ErrorBody, errorResponse } from "./http-errors.js";
// What `mandrillKit()` shares with the other plugins (`kit.context`).
export type { CredentialsReader, KitContext } from "./kit-context.js";
// The logger shape (pino's argument order), the console and silent loggers.
export {
  type ConsoleLoggerOptions,
  createConsoleLogger,
  type LogContext,
  type Logger,
  type LogLevel,
  type LogMethod,
  silentLogger,
} from "./logger.js";
// The in-memory store: tests, examples, single-process tools.
export { createMemoryStore, type MemoryStoreOptions } from "./memory/open.js";
// Mandrill's send models and the kit's per-recipient send result.
export {
  MANDRILL_SEND_STATUSES,
  type MandrillAttachment,
  type MandrillMessage,
  type MandrillRecipient,
  type MandrillSendRequest,
  type MandrillSendResponseItem,
  type MandrillSendStatus,
  type MandrillSendTemplateRequest,
  type MergeVar,
  QUEUED_REASONS,
  type QueuedReason,
  RECIPIENT_SIDE_REJECT_REASONS,
  REJECT_REASONS,
  type RecipientMergeVars,
  type RecipientMetadata,
  type RecipientResult,
  type RecipientStatus,
  type RejectReason,
  type RejectSide,
  rejectReasonSide,
  SENDER_SIDE_REJECT_REASONS,
  type SendResult,
  type TemplateContent,
} from "./message.js";
// Where the kit may connect (the `network` option) and the error a refusal raises.
export {
  type AddressRange,
  type HostLookup,
  MandrillKitNetworkError,
  type NetworkPolicyOptions,
} from "./network.js";
// A secret that prints masked however it is serialised.
export { Secret } from "./redact.js";
// An account's Mandrill settings, as the credentials service returns them.
export {
  MANDRILL_SMTP_HOST,
  MANDRILL_SMTP_PORTS,
  type MandrillSettings,
  type MandrillTransport,
  type UnsubscribeMode,
  type VerificationResult,
  type WebhookKey,
} from "./settings.js";
// The storage interfaces: four repositories (credentials, suppressions, inbox, sends) and lifecycle.
export type {
  DriftEntry,
  MandrillListRow,
  MandrillSyncCounts,
  MandrillSyncMethods,
  MandrillSyncState,
} from "./store.js";
export {
  type AppliedEffect,
  type ClaimOptions,
  type CompleteUnwantedOptions,
  type CredentialPutOptions,
  type CredentialRecord,
  type CredentialRepository,
  type CredentialWrite,
  type FailOptions,
  type InboxBacklog,
  type InboxEventInput,
  type InboxRecord,
  type InboxRepository,
  type InboxState,
  type InboxStats,
  type IngestBatch,
  type IngestResult,
  type Page,
  type PageOptions,
  type QuarantinedBatch,
  type SendRecord,
  type SendRecordInput,
  type SendRepository,
  type Store,
  SUPPRESSION_REASONS,
  SUPPRESSION_SOURCES,
  type Suppression,
  type SuppressionAddResult,
  type SuppressionAddStatus,
  type SuppressionEffect,
  type SuppressionInput,
  type SuppressionLiftOptions,
  type SuppressionQuery,
  type SuppressionReason,
  type SuppressionRepository,
  type SuppressionSource,
  type SuppressionStatus,
} from "./store.js";
// What each signal (bounce, complaint, unsubscribe, sync) does to the suppression list.
export {
  DEFAULT_SUPPRESSION_POLICY,
  resolveSuppressionPolicy,
  type SuppressionPolicy,
  type SuppressionPolicyOptions,
} from "./suppression-policy.js";
// The `metrics` option (OpenTelemetry providers, per-account attributes).
export type { MetricsOptions } from "./telemetry.js";
