import { randomUUID } from "node:crypto";
import {
  type CredentialsReader,
  type KitContext,
  MandrillKitConfigError,
  MandrillKitSendError,
  type MandrillSettings,
  type MandrillTransport,
  type RecipientResult,
  resolveSuppressionPolicy,
  type SendResult,
  type Store,
  type SuppressionPolicy,
  silentLogger,
} from "@mandrill-kit/core";
import {
  type ComponentLogger,
  componentLogger,
  createTelemetry,
  defaultTelemetry,
  resolveMetricsOptions,
  type Telemetry,
} from "@mandrill-kit/core/plugin";
import { afterSend } from "./after-send.js";
import { type ApiClient, createApiClient } from "./api-client.js";
import { type DenylistSyncReport, type SyncDenylistOptions, syncDenylist } from "./denylist/sync-denylist.js";
import { checkConnection, type Diagnosis, diagnose } from "./diagnose.js";
import { checkHeaders, resolveRecipients, type SendMessage } from "./message.js";
import { createNetworkGuard } from "./network-guard.js";
import { withOneClickUnsubscribe } from "./one-click.js";
import {
  checkApiBaseUrl,
  resolveSenderOptions,
  type SenderConfig,
  type SenderOptions,
  senderNetwork,
} from "./options.js";
import { createRecordQueue } from "./record-queue.js";
import { requireSettings } from "./require-settings.js";
import { observeSend, type SendKind, senderInstruments } from "./telemetry.js";
import { runTestEmail, type TestEmailResult } from "./test-email.js";
import { createApiTransport } from "./transports/api.js";
import { createSmtpTransport } from "./transports/smtp.js";
import { recipientResult, type Transport } from "./transports/transport.js";

/** Options of {@link Sender.sendTestEmail}. */
export interface TestEmailOptions {
  /**
   * Test these settings instead of the saved ones (a form not saved yet: `credentials.preview()`);
   * the outcome is then not recorded with the saved settings.
   */
  settings?: MandrillSettings;
}

/** Sends mail for accounts, honouring their suppression lists. */
export interface Sender {
  /**
   * Sends `message` for `account`: suppressed recipients never reach Mandrill (status `suppressed`);
   * recipient-side rejects are added to the suppression list before it resolves; every recipient is
   * recorded in the store's sends, written within 5 ms after it resolves, grouped with the other sends
   * of that window in one transaction (see {@link Sender.flush}). Throws `MandrillKitSendError` only
   * when Mandrill rejected every recipient it got; `MandrillKitApiError` / `MandrillKitTransportError`
   * when the send could not happen, `MandrillKitNetworkError` when the account's SMTP host or port is
   * not allowed by the network policy. A request that may have reached Mandrill without an answer
   * gives status `unknown` and is not re-sent.
   */
  send(account: string, message: SendMessage): Promise<SendResult>;
  /**
   * "Send a test email": a canned message naming the account and transport. Never throws for
   * Mandrill or network failures: the result says what happened and, when it failed, includes the
   * diagnosis. The outcome is kept with the settings (`lastVerification`).
   */
  sendTestEmail(account: string, to: string, options?: TestEmailOptions): Promise<TestEmailResult>;
  /**
   * "Test connection": checks the API key, the From domain and (SMTP transport) the SMTP server of
   * `settings` — saved, or a form not saved yet (`credentials.preview()`) — without sending mail.
   */
  checkConnection(settings: MandrillSettings): Promise<Diagnosis>;
  /** Runs the named checks (API key, reputation, sending domain, SMTP, webhooks) with plain-language advice. */
  diagnose(account: string): Promise<Diagnosis>;
  /**
   * Imports and reconciles Mandrill's rejection denylist and allowlist into the account's suppression
   * list (docs/design.md#mandrill-denylist-sync): all or nothing. Throws `ERR_MK_DENYLIST_EXPORT_FAILED`
   * / `ERR_MK_DENYLIST_EXPORT_INVALID` (the list unchanged), or the API/network errors of any call.
   */
  syncDenylist(account: string, options?: SyncDenylistOptions): Promise<DenylistSyncReport>;
  /** The API client (for diagnostics and the example's "register the Callback URL"). */
  readonly api: ApiClient;
  /**
   * Resolves when the send records of every `send()` resolved so far are in the store. Records are
   * written within 5 ms, grouped (one transaction for all the sends of that window); call this when
   * you must read them back at once.
   */
  flush(): Promise<void>;
  /** Writes pending send records, then closes connection pools. */
  close(): Promise<void>;
}

/** Everything a sender needs from the host, resolved. */
interface SenderDeps {
  store: Store;
  credentials: CredentialsReader;
  log: ComponentLogger;
  policy: SuppressionPolicy;
  publicUrl: string | undefined;
  telemetry: Telemetry;
}

function resolveDeps(config: SenderConfig, context: KitContext | undefined): SenderDeps {
  const o = config.options;
  const store = o.store ?? context?.store;
  const credentials = o.credentials ?? context?.credentials;
  if (store === undefined || credentials === undefined) {
    throw new MandrillKitConfigError(
      "ERR_MK_KIT_NOT_MOUNTED",
      "store",
      "createSender() needs store and credentials: pass them, pass { context: kit.context }, or use mandrillSender() after app.use(mandrillKit({...})).",
    );
  }
  return {
    store,
    credentials,
    log: componentLogger(o.logger ?? context?.logger ?? silentLogger, { component: "sender" }),
    policy: o.suppression ?? context?.suppressionPolicy ?? resolveSuppressionPolicy(),
    publicUrl: config.unsubscribe.publicUrl ?? context?.publicUrl,
    telemetry:
      o.metrics !== undefined
        ? createTelemetry(resolveMetricsOptions("createSender", o.metrics))
        : (context?.telemetry ?? defaultTelemetry()),
  };
}

/** Every recipient given to Mandrill was refused: the send failed as a whole. */
function everyAttemptRefused(result: SendResult): MandrillKitSendError | undefined {
  const attempted = result.recipients.filter((r) => r.status !== "suppressed");
  if (attempted.length === 0 || !attempted.every((r) => r.status === "rejected" || r.status === "invalid"))
    return undefined;
  const reasons = [...new Set(attempted.map((r) => r.rejectReason ?? "unknown"))].join(", ");
  return new MandrillKitSendError(
    `Mandrill rejected every recipient (${reasons}). Nothing was sent.`,
    result,
  );
}

/**
 * A sender from checked options (see `resolveSenderOptions`), taking what is missing from the kit
 * `context`. Throws `ERR_MK_KIT_NOT_MOUNTED` when there is no store or credentials.
 */
export function startSender(config: SenderConfig, context: KitContext | undefined): Sender {
  const kit = context ?? config.options.context;
  const deps = resolveDeps(config, kit);
  const { store, credentials, log } = deps;
  const network = senderNetwork(config, kit);
  checkApiBaseUrl(config.factory, config.api.baseUrl, network);
  const guard = createNetworkGuard(network);
  const api = createApiClient(config.api, guard, deps.telemetry);
  const records = createRecordQueue(store, log);
  const afterSendDeps = { ...deps, records };
  const oneClick = (transport: Transport) =>
    config.oneClick
      ? withOneClickUnsubscribe(transport, {
          ...config.unsubscribe,
          publicUrl: deps.publicUrl,
          clock: config.clock,
        })
      : transport;
  const smtp = createSmtpTransport(config.smtp, guard, log);
  const transports = { api: oneClick(createApiTransport(api, log)), smtp: oneClick(smtp) };
  const unobservePools = senderInstruments(deps.telemetry).observePools(() => smtp.pools);

  /** Runs one send under its span and metrics; `attempt` reports the transport once settings are read. */
  async function observed(
    account: string,
    kind: SendKind,
    attempt: (known: (transport: MandrillTransport) => void) => Promise<SendResult>,
  ): Promise<SendResult> {
    const observation = observeSend(deps.telemetry, account, kind);
    let transport: MandrillTransport | undefined;
    try {
      const result = await attempt((t) => {
        transport = t;
      });
      observation.sent(result, undefined);
      return result;
    } catch (error) {
      if (error instanceof MandrillKitSendError && error.result !== undefined)
        observation.sent(error.result, error);
      else observation.failed(transport, error);
      throw error;
    }
  }

  const send = (account: string, message: SendMessage): Promise<SendResult> =>
    observed(account, "message", async (known) => {
      const settings = await requireSettings(credentials, account);
      known(settings.transport);
      return sendWith(settings, message);
    });

  /** The test email's send: the same path, observed as `kind: "test"`. */
  const sendTest = (settings: MandrillSettings, message: SendMessage): Promise<SendResult> =>
    observed(settings.account, "test", (known) => {
      known(settings.transport);
      return sendWith(settings, message);
    });

  async function sendWith(settings: MandrillSettings, message: SendMessage): Promise<SendResult> {
    const account = settings.account;
    const recipients = resolveRecipients(message);
    checkHeaders(message.headers);
    const correlationId = randomUUID();
    // One round trip for every recipient, before anything leaves.
    const found = await store.suppressions.check(
      account,
      recipients.map((r) => r.normalized),
    );
    const suppressed = new Map(found.map((s) => [s.email, s]));
    const toSend = recipients.filter((r) => !suppressed.has(r.normalized));
    const sent =
      toSend.length === 0
        ? []
        : await transports[settings.transport].send({
            settings,
            message,
            recipients: toSend,
            correlationId,
            headers: {},
          });
    const byAddress = new Map(toSend.map((r, i) => [r.normalized, sent[i] as RecipientResult]));
    const result: SendResult = {
      account,
      transport: settings.transport,
      correlationId,
      recipients: recipients.map((r) => {
        const s = suppressed.get(r.normalized);
        if (s === undefined) return byAddress.get(r.normalized) as RecipientResult;
        return recipientResult(r.email, "suppressed", { rejectReason: s.reason, rejectSide: "recipient" });
      }),
    };
    await afterSend(afterSendDeps, settings, result, recipients, message.subject ?? null, Date.now());
    const refused = everyAttemptRefused(result);
    if (refused !== undefined) throw refused;
    return result;
  }

  const diagnoseAccount = (account: string, settings?: MandrillSettings) =>
    diagnose({ store, credentials, api, smtp }, account, settings);
  const denylistDeps = { store, credentials, api, guard, log, now: () => config.clock.now() };
  const syncs = oneSyncPerAccount((account, options) => syncDenylist(denylistDeps, account, options));

  return {
    send,
    sendTestEmail: (account, to, options = {}) =>
      runTestEmail(
        {
          credentials,
          log,
          send: sendTest,
          diagnose: diagnoseAccount,
          flush: () => records.flush(),
          now: () => config.clock.now(),
        },
        account,
        to,
        options.settings,
      ),
    checkConnection: (settings) => checkConnection({ api, smtp }, settings),
    diagnose: (account) => diagnoseAccount(account),
    syncDenylist: (account, options) => syncs.run(account, options),
    api,
    flush: () => records.flush(),
    async close() {
      unobservePools();
      await records.flush();
      await transports.smtp.close();
      await transports.api.close();
    },
  };
}

/**
 * One denylist sync of an account at a time in this sender: a call while one runs with the same
 * options gets that run's report (a double click, a schedule meeting a manual sync); with other
 * options it waits for that run to finish, then runs. Two syncs never stage and apply side by side.
 */
function oneSyncPerAccount(
  sync: (account: string, options: SyncDenylistOptions) => Promise<DenylistSyncReport>,
) {
  const running = new Map<string, { options: string; report: Promise<DenylistSyncReport> }>();
  return {
    run(account: string, options: SyncDenylistOptions = {}): Promise<DenylistSyncReport> {
      const wanted = JSON.stringify(Object.entries(options).sort());
      const current = running.get(account);
      if (current?.options === wanted) return current.report;
      const after = current?.report.catch(() => undefined) ?? Promise.resolve(undefined);
      const report = after.then(() => sync(account, options));
      const entry = { options: wanted, report };
      running.set(account, entry);
      const done = () => {
        if (running.get(account) === entry) running.delete(account);
      };
      report.then(done, done);
      return report;
    },
  };
}

/** Creates a sender. Options are checked now (a typo fails here). See {@link Sender.send}. */
export function createSender(options: SenderOptions = {}): Sender {
  return startSender(resolveSenderOptions("createSender", options), undefined);
}
