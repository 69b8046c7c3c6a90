/**
 * The public surface of `@mandrill-kit/core`, name by name. The main entry is what a host app uses or
 * meets in the plugins' options and results; what only the plugins share is in `./plugin`, what only
 * store adapters need in `./adapter`. Adding, moving or removing a name fails here until the lists
 * below are edited too: a change of the surface is a conscious one.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseSync } from "oxc-parser";
import { describe, expect, it } from "vitest";

const MAIN_VALUES = [
  "createConsoleLogger",
  "createMemoryStore",
  "DEFAULT_SUPPRESSION_POLICY",
  "ERROR_CODES",
  "errorResponse",
  "isAccountId",
  "isEmail",
  "isMandrillKitError",
  "isMessageEventType",
  "MANDRILL_SEND_STATUSES",
  "MANDRILL_SMTP_HOST",
  "MANDRILL_SMTP_PORTS",
  "MandrillKitApiError",
  "MandrillKitConfigError",
  "MandrillKitCryptoError",
  "MandrillKitError",
  "MandrillKitForbiddenError",
  "MandrillKitNetworkError",
  "MandrillKitNotConfiguredError",
  "MandrillKitNotFoundError",
  "MandrillKitPayloadError",
  "MandrillKitSendError",
  "MandrillKitStoreError",
  "MandrillKitTransportError",
  "MandrillKitValidationError",
  "MESSAGE_EVENT_TYPES",
  "normalizeEmail",
  "QUEUED_REASONS",
  "RECIPIENT_SIDE_REJECT_REASONS",
  "REJECT_REASONS",
  "rejectReasonSide",
  "requireAccountId",
  "requireEmail",
  "resolveSuppressionPolicy",
  "Secret",
  "SENDER_SIDE_REJECT_REASONS",
  "silentLogger",
  "SUPPRESSION_REASONS",
  "SUPPRESSION_SOURCES",
  "SYNC_EVENT_TYPES",
  "systemClock",
];

const MAIN_TYPES = [
  // errors, logging, time, health, kit context
  "Clock",
  "ConsoleLoggerOptions",
  "CredentialsReader",
  "ErrorBody",
  "ErrorCode",
  "FieldError",
  "HealthCheckResult",
  "KitContext",
  "KitHealth",
  "LogContext",
  "Logger",
  "LogLevel",
  "LogMethod",
  "MandrillKitErrorOptions",
  "MetricsOptions",
  // network option
  "AddressRange",
  "HostLookup",
  "NetworkPolicyOptions",
  // webhook events
  "AllowlistEntry",
  "BlacklistAction",
  "BlacklistEvent",
  "EventOfType",
  "InboundEvent",
  "InboundEventPayload",
  "InboundMessage",
  "MandrillEvent",
  "MandrillEventType",
  "MessageEvent",
  "MessageEventPayload",
  "MessageEventType",
  "MessageSnapshot",
  "MessageState",
  "RejectEntry",
  "SmtpEvent",
  "SyncEvent",
  "SyncEventPayload",
  "SyncEventType",
  "UnknownEvent",
  "WhitelistAction",
  "WhitelistEvent",
  // sending
  "MandrillAttachment",
  "MandrillMessage",
  "MandrillRecipient",
  "MandrillSendRequest",
  "MandrillSendResponseItem",
  "MandrillSendStatus",
  "MandrillSendTemplateRequest",
  "MergeVar",
  "QueuedReason",
  "RecipientMergeVars",
  "RecipientMetadata",
  "RecipientResult",
  "RecipientStatus",
  "RejectReason",
  "RejectSide",
  "SendResult",
  "TemplateContent",
  // settings and suppression policy
  "MandrillSettings",
  "MandrillTransport",
  "SuppressionPolicy",
  "SuppressionPolicyOptions",
  "UnsubscribeMode",
  "VerificationResult",
  "WebhookKey",
  // storage
  "AppliedEffect",
  "ClaimOptions",
  "CompleteUnwantedOptions",
  "CredentialPutOptions",
  "CredentialRecord",
  "CredentialRepository",
  "CredentialWrite",
  "DriftEntry",
  "FailOptions",
  "InboxBacklog",
  "InboxEventInput",
  "InboxRecord",
  "InboxRepository",
  "InboxState",
  "InboxStats",
  "IngestBatch",
  "IngestResult",
  "MandrillListRow",
  "MandrillSyncCounts",
  "MandrillSyncMethods",
  "MandrillSyncState",
  "MemoryStoreOptions",
  "Page",
  "PageOptions",
  "QuarantinedBatch",
  "SendRecord",
  "SendRecordInput",
  "SendRepository",
  "Store",
  "Suppression",
  "SuppressionAddResult",
  "SuppressionAddStatus",
  "SuppressionEffect",
  "SuppressionInput",
  "SuppressionLiftOptions",
  "SuppressionQuery",
  "SuppressionReason",
  "SuppressionRepository",
  "SuppressionSource",
  "SuppressionStatus",
];

const PLUGIN_VALUES = [
  "addressRange",
  "attachKitContext",
  "attributeSets",
  "checkAddress",
  "checkHostName",
  "checkOptions",
  "checkPort",
  "componentLogger",
  "createTelemetry",
  "defaultTelemetry",
  "didYouMean",
  "encodeForm",
  "endSpan",
  "eventKey",
  "findKitContext",
  "incomingContext",
  "mandrillJson",
  "mandrillSignature",
  "maskSecret",
  "normalizeHost",
  "parseIpLiteral",
  "parseMandrillEvents",
  "parseMandrillEventsBytes",
  "parseMandrillEventsBytesWithRanges",
  "parseMandrillTime",
  "parseStoredEvent",
  "redact",
  "rejectSuppression",
  "resolveMetricsOptions",
  "resolveNetworkPolicy",
  "runHealthCheck",
  "secondsSince",
  "signWebhook",
  "summedCounter",
  "suppressionChanges",
  "suppressionEffects",
  "TEST_WEBHOOK_KEY",
  "traceFields",
  "Utf8InboxEvent",
];

const PLUGIN_TYPES = [
  "ComponentLogger",
  "EventProblem",
  "HealthCheck",
  "InboxEventFields",
  "LogFields",
  "NetworkPolicy",
  "ParsedBatch",
  "ParseOutcome",
  "SignedWebhook",
  "Telemetry",
  "UnreadableBatch",
  "WebhookForm",
];

const sorted = (names: readonly string[]) => [...names].sort();
const src = (entry: string) => fileURLToPath(new URL(`../src/${entry}`, import.meta.url));

/** Every name an entry file exports (values and types), from its source; `export *` is refused. */
function declared(entry: string): { values: string[]; types: string[] } {
  const file = src(entry);
  const { module, errors } = parseSync(file, readFileSync(file, "utf8"), {
    sourceType: "module",
    lang: "ts",
  });
  expect(errors, entry).toEqual([]);
  const values: string[] = [];
  const types: string[] = [];
  for (const entry of module.staticExports.flatMap((s) => s.entries)) {
    const name = entry.exportName.name;
    expect(name, `${file}: export * hides what the entry exports; name each export`).toEqual(
      expect.any(String),
    );
    (entry.isType ? types : values).push(name as string);
  }
  return { values: sorted(values), types: sorted(types) };
}

describe("the public surface of @mandrill-kit/core", () => {
  it("the main entry exports exactly the listed values at run time", async () => {
    const main = await import("@mandrill-kit/core");
    expect(sorted(Object.keys(main))).toEqual(sorted(MAIN_VALUES));
  });

  it("the main entry declares exactly the listed values and types", () => {
    expect(declared("index.ts")).toEqual({ values: sorted(MAIN_VALUES), types: sorted(MAIN_TYPES) });
  });

  it("@mandrill-kit/core/plugin exports exactly the listed plugin helpers", async () => {
    const plugin = await import("@mandrill-kit/core/plugin");
    expect(sorted(Object.keys(plugin))).toEqual(sorted(PLUGIN_VALUES));
    expect(declared("plugin/index.ts")).toEqual({
      values: sorted(PLUGIN_VALUES),
      types: sorted(PLUGIN_TYPES),
    });
  });

  it("no name is served by two entries (main, ./plugin, ./adapter, ./testing)", () => {
    const entries = ["index.ts", "plugin/index.ts", "adapter/index.ts", "testing/index.ts"];
    const seen = new Map<string, string>();
    for (const entry of entries) {
      const { values, types } = declared(entry);
      for (const name of [...values, ...types]) {
        expect(seen.get(name), `${name} is exported by ${entry} and ${seen.get(name)}`).toBeUndefined();
        seen.set(name, entry);
      }
    }
  });

  it("plugin-only helpers stay out of the main entry", async () => {
    const main = Object.keys(await import("@mandrill-kit/core"));
    for (const name of [
      "attachKitContext",
      "findKitContext",
      "checkOptions",
      "didYouMean",
      "componentLogger",
      "resolveNetworkPolicy",
      "checkAddress",
      "parseMandrillEvents",
      "eventKey",
      "createTelemetry",
      "signWebhook",
    ])
      expect(main, name).not.toContain(name);
  });

  it("./plugin is declared for the workspace and for publishing, built next to the other subpaths", () => {
    const manifest = JSON.parse(readFileSync(src("../package.json"), "utf8")) as {
      exports: Record<string, Record<string, string>>;
      publishConfig: { exports: Record<string, Record<string, string>> };
    };
    expect(manifest.exports["./plugin"]).toEqual({
      types: "./src/plugin/index.ts",
      default: "./src/plugin/index.ts",
    });
    expect(manifest.publishConfig.exports["./plugin"]).toEqual({
      types: "./dist/plugin/index.d.ts",
      default: "./dist/plugin/index.js",
    });
  });
});
