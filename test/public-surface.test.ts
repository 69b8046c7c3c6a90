/**
 * The public surface of every package but core (core pins its own in packages/core/test/public-surface.test.ts),
 * name by name: what each entry point exports, values and types, and which subpaths a package declares.
 * A main entry holds the factories, types and errors a host uses or meets in options and results;
 * helpers only the package itself (or its tests and benches) use stay private. Adding, moving or
 * removing a name fails here until the lists below are edited too: a change of the surface is a
 * conscious one, and the package's README ("What the package exports") changes with it.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseSync } from "oxc-parser";
import { describe, expect, it } from "vitest";

interface Entry {
  values: readonly string[];
  types: readonly string[];
}

interface Surface {
  /** Subpath → the entry's source file under src/, and its names. */
  entries: Record<string, { file: string } & Entry>;
  /** Names a host would have to reach for if they were public: they must stay out of every entry. */
  private?: readonly string[];
}

const SENDER: Entry = {
  values: [
    "AmbiguousRequestError",
    "createSender",
    "defaultSmtpRoute",
    "MandrillKitNetworkError",
    "mandrillSender",
    "mandrillUnsubscribe",
    "requireSettings",
    "SmtpTransportError",
  ],
  types: [
    "ApiClient",
    "ApiClientOptions",
    "Attachment",
    "DenylistSyncReport",
    "Diagnosis",
    "DiagnosticCheck",
    "MandrillRequestApi",
    "MandrillSenderMiddleware",
    "MandrillUnsubscribeOptions",
    "MergeLanguage",
    "NetworkPolicyOptions",
    "Recipient",
    "ResolvedRecipient",
    "Sender",
    "SenderOptions",
    "SendMessage",
    "SmtpOptions",
    "SmtpProblem",
    "SmtpRoute",
    "SyncDenylistOptions",
    "TestEmailOptions",
    "TestEmailResult",
    "Transport",
    "TransportRequest",
    "UnsubscribeOptions",
  ],
};

const WEBHOOKS: Entry = {
  values: [
    "createDispatcher",
    "FormBodyError",
    "HandlerTimeoutError",
    "ingestEvents",
    "mandrillWebhooks",
    "receive",
    "verifyRequest",
    "WebhookNotStoredError",
  ],
  types: [
    "AnyEventHandler",
    "Dispatcher",
    "DispatcherOptions",
    "DispatchOptions",
    "ErrorHandler",
    "ErrorInfo",
    "EventHandler",
    "HandlerContext",
    "IngestEventsOptions",
    "IngestOutcome",
    "MandrillWebhooks",
    "MandrillWebhooksOptions",
    "Received",
    "ReceiveOptions",
    "Refusal",
    "RefusalReason",
    "RequestHeaders",
    "SignatureDiagnosis",
    "VerifyRequestInput",
    "VerifyResult",
    "WebhookForm",
    "WebhookReply",
  ],
};

const WEBHOOKS_TESTING: Entry = {
  values: ["encodeForm", "eventFixtures", "mandrillJson", "signWebhook", "TEST_WEBHOOK_KEY"],
  types: ["FixtureOverrides", "SignedWebhook"],
};

const CREDENTIALS: Entry = {
  values: [
    "addKey",
    "createCredentials",
    "generateKey",
    "isMandrillKitError",
    "MAX_WEBHOOK_KEYS",
    "MandrillKitConfigError",
    "MandrillKitCryptoError",
    "MandrillKitError",
    "MandrillKitNotFoundError",
    "MandrillKitStoreError",
    "MandrillKitValidationError",
    "mandrillKit",
    "mandrillSettings",
    "parseKeySet",
    "SETTINGS_INPUT_FIELDS",
  ],
  types: [
    "AuthorizeHook",
    "CredentialsOptions",
    "CredentialsService",
    "JwkSet",
    "MandrillKitMiddleware",
    "MandrillKitOptions",
    "MandrillSettings",
    "MandrillSettingsInput",
    "MandrillSettingsOptions",
    "OctJwk",
    "RotateOptions",
    "RotationReport",
    "Secret",
    "SettingsDescription",
    "SettingsSummary",
    "VerificationResult",
    "WebhookKey",
    "WebhookKeyDescription",
  ],
};

const SIMULATOR: Entry = {
  values: [
    "DEMO_ACCOUNT",
    "DEMO_KEYS",
    "isMandrillKitError",
    "MAGIC_ADDRESSES",
    "MandrillKitConfigError",
    "MandrillKitError",
    "MandrillKitNotFoundError",
    "MandrillKitValidationError",
    "startSimulator",
  ],
  types: [
    "AddRejectInput",
    "ApiLogEntry",
    "DenylistReason",
    "EmitDetails",
    "EmittedEvent",
    "ErrorStatusMode",
    "FaultHandle",
    "FaultSpec",
    "FaultTarget",
    "MessageState",
    "OutboxMessage",
    "OutboxRecipient",
    "OutboxSmtpDetails",
    "Simulator",
    "SimulatorAccountOptions",
    "SimulatorControl",
    "SimulatorDomainOptions",
    "SimulatorInspect",
    "SimulatorKeyKind",
    "SimulatorKeyOptions",
    "SimulatorOptions",
    "SimulatorTemplateOptions",
    "SmtpStage",
    "WebhookDelivery",
    "WebhookInspection",
  ],
};

const SQLITE: Entry = {
  values: ["MIGRATIONS", "openSqliteStore"],
  types: ["Migration", "SqliteStore", "SqliteStoreOptions"],
};

const POSTGRES: Entry = {
  values: ["MIGRATIONS", "openPostgresStore"],
  types: ["Migration", "PostgresStore", "PostgresStoreOptions"],
};

const SURFACES: Record<string, Surface> = {
  sender: {
    entries: { ".": { file: "index.ts", ...SENDER } },
    // Message mapping, X-MC-* headers, error hints, the API client's factory and the unsubscribe
    // tokens are the sender's own business: a host sends, and gets the client as `sender.api`.
    private: [
      "checkHeaders",
      "createApiClient",
      "hintFor",
      "mandrillSmtpHeaders",
      "mandrillTime",
      "resolveRecipients",
      "senderSideAdvice",
      "signUnsubscribeToken",
      "toMandrillMessage",
      "verifyUnsubscribeToken",
    ],
  },
  webhooks: {
    entries: {
      ".": { file: "index.ts", ...WEBHOOKS },
      "./testing": { file: "testing/index.ts", ...WEBHOOKS_TESTING },
    },
    // The adapter runs the diagnosis (`webhooks.diagnoses(account)`); ingestEvents builds the inbox
    // rows; the signature is verifyRequest's (the function itself is in @mandrill-kit/core/plugin).
    private: ["diagnoseMismatch", "inboxInputs", "mandrillSignature"],
  },
  credentials: {
    entries: { ".": { file: "index.ts", ...CREDENTIALS } },
    private: ["createKeyRing", "decryptSecret", "encryptSecret"],
  },
  simulator: {
    entries: { ".": { file: "index.ts", ...SIMULATOR } },
    private: [
      "DENYLIST_DURATION_MS",
      "isLoopbackHost",
      "MANDRILL_ERROR_NAMES",
      "SMTP_AUTH_FAILED",
      "WEBHOOK_EVENTS",
    ],
  },
  sqlite: { entries: { ".": { file: "index.ts", ...SQLITE } } },
  postgres: { entries: { ".": { file: "index.ts", ...POSTGRES } } },
};

const sorted = (names: readonly string[]) => [...names].sort();
const packageFile = (pkg: string, path: string) =>
  fileURLToPath(new URL(`../packages/${pkg}/${path}`, import.meta.url));
const specifier = (pkg: string, subpath: string) =>
  subpath === "." ? `@mandrill-kit/${pkg}` : `@mandrill-kit/${pkg}/${subpath.slice(2)}`;

/** Every name an entry file exports (values and types), from its source; `export *` is refused. */
function declared(pkg: string, entry: string): { values: string[]; types: string[] } {
  const file = packageFile(pkg, `src/${entry}`);
  const { module, errors } = parseSync(file, readFileSync(file, "utf8"), {
    sourceType: "module",
    lang: "ts",
  });
  expect(errors, file).toEqual([]);
  const values: string[] = [];
  const types: string[] = [];
  for (const exported of module.staticExports.flatMap((s) => s.entries)) {
    const name = exported.exportName.name;
    expect(name, `${file}: export * hides what the entry exports; name each export`).toEqual(
      expect.any(String),
    );
    (exported.isType ? types : values).push(name as string);
  }
  return { values: sorted(values), types: sorted(types) };
}

interface Manifest {
  exports: Record<string, Record<string, string>>;
  publishConfig: { exports: Record<string, Record<string, string>> };
}

const cases = Object.entries(SURFACES).flatMap(([pkg, surface]) =>
  Object.entries(surface.entries).map(([subpath, entry]) => ({
    name: specifier(pkg, subpath),
    pkg,
    ...entry,
  })),
);

describe("the public surface of each package", () => {
  it.each(cases)("$name exports exactly the listed values at run time", async ({ name, values }) => {
    const loaded = (await import(name)) as Record<string, unknown>;
    expect(sorted(Object.keys(loaded))).toEqual(sorted(values));
  });

  it.each(cases)("$name declares exactly the listed values and types", ({ pkg, file, values, types }) => {
    expect(declared(pkg, file)).toEqual({ values: sorted(values), types: sorted(types) });
  });

  it.each(Object.entries(SURFACES))(
    "@mandrill-kit/%s declares exactly these subpaths, for the workspace and for publishing",
    (pkg, surface) => {
      const manifest = JSON.parse(readFileSync(packageFile(pkg, "package.json"), "utf8")) as Manifest;
      expect(Object.keys(manifest.exports).sort()).toEqual(Object.keys(surface.entries).sort());
      expect(Object.keys(manifest.publishConfig.exports).sort()).toEqual(Object.keys(surface.entries).sort());
      for (const [subpath, { file }] of Object.entries(surface.entries)) {
        const built = file.replace(/\.ts$/, "");
        expect(manifest.exports[subpath]).toEqual({ types: `./src/${file}`, default: `./src/${file}` });
        expect(manifest.publishConfig.exports[subpath]).toEqual({
          types: `./dist/${built}.d.ts`,
          default: `./dist/${built}.js`,
        });
      }
    },
  );

  it.each(Object.entries(SURFACES))(
    "no name is served by two entries of @mandrill-kit/%s",
    (pkg, surface) => {
      const seen = new Map<string, string>();
      for (const { file } of Object.values(surface.entries)) {
        const { values, types } = declared(pkg, file);
        for (const name of [...values, ...types]) {
          expect(seen.get(name), `${name} is exported by ${file} and ${seen.get(name)}`).toBeUndefined();
          seen.set(name, file);
        }
      }
    },
  );

  it.each(Object.entries(SURFACES).filter(([, s]) => s.private !== undefined))(
    "@mandrill-kit/%s keeps its internals out of every entry",
    (pkg, surface) => {
      const exported = Object.values(surface.entries).flatMap(({ file }) => {
        const { values, types } = declared(pkg, file);
        return [...values, ...types];
      });
      for (const name of surface.private ?? []) expect(exported, name).not.toContain(name);
    },
  );
});
