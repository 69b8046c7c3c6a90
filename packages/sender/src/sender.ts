import { randomUUID } from "node:crypto";
import {
  type ComponentLogger,
  type CredentialsReader,
  checkOptions,
  componentLogger,
  type KitContext,
  type Logger,
  MandrillKitConfigError,
  MandrillKitNotConfiguredError,
  MandrillKitSendError,
  type MandrillSendResponseItem,
  type MandrillSettings,
  normalizeEmail,
  type RecipientResult,
  rejectReasonSide,
  rejectSuppression,
  requireAccountId,
  resolveSuppressionPolicy,
  type SendResult,
  type Store,
  type Suppression,
  type SuppressionPolicy,
  silentLogger,
} from "@mandrill-kit/core";
import {
  AmbiguousRequestError,
  type ApiClient,
  type ApiClientOptions,
  createApiClient,
} from "./api-client.js";
import { type Diagnosis, diagnose } from "./diagnose.js";
import {
  mandrillTime,
  type ResolvedRecipient,
  resolveRecipients,
  type SendMessage,
  toMandrillMessage,
} from "./message.js";
import { createRecordQueue } from "./record-queue.js";
import { classifySmtpFailure, type SmtpFailure } from "./smtp-errors.js";
import { mandrillSmtpHeaders, type SmtpOptions, SmtpPools } from "./smtp-transport.js";
import {
  describeFailure,
  summarizeTest,
  type TestEmailResult,
  testMessage,
  testRecipient,
} from "./test-email.js";
import { signUnsubscribeToken } from "./unsubscribe-token.js";

/** One-click unsubscribe (RFC 8058) for accounts whose `unsubscribeMode` is `"one-click"`. */
export interface UnsubscribeOptions {
  /** Signs the links (≥ 32 characters; keep it secret and stable). */
  secret: string;
  /** Public base URL of the app. @default the kit's publicUrl */
  publicUrl?: string;
  /** Route of `mandrillUnsubscribe()`. @default "/unsubscribe/mandrill" */
  path?: string;
  /** Also offer `mailto:` in List-Unsubscribe (an address you process). */
  mailto?: string;
  /** Add a visible footer with the link to the HTML and text parts. @default true */
  footer?: boolean;
}

/** Options of {@link createSender}. All optional once `mandrillKit()` is mounted (Express sugar) or `context` is given. */
export interface SenderOptions {
  /** The kit context (store, credentials, logger, policy, publicUrl) to take missing options from. */
  context?: KitContext;
  store?: Store;
  credentials?: CredentialsReader;
  logger?: Logger;
  suppression?: SuppressionPolicy;
  /** HTTP API client: base URL, timeouts, retries, pool size. */
  api?: ApiClientOptions;
  smtp?: SmtpOptions;
  unsubscribe?: UnsubscribeOptions;
}

const OPTION_NAMES = [
  "context",
  "store",
  "credentials",
  "logger",
  "suppression",
  "api",
  "smtp",
  "unsubscribe",
] as const;

/** Sends mail for accounts, honouring their suppression lists. */
export interface Sender {
  /**
   * Sends `message` for `account`: suppressed recipients never reach Mandrill (status `suppressed`);
   * recipient-side rejects are added to the suppression list before it resolves; every recipient is
   * recorded in the store's sends, written within 5 ms after it resolves, grouped with the other sends
   * of that window in one transaction (see {@link Sender.flush}). Throws `MandrillKitSendError` only
   * when Mandrill rejected every recipient it got; `MandrillKitApiError` / `MandrillKitTransportError`
   * when the send could not happen. A request that may have reached Mandrill without an answer gives
   * status `unknown` and is not re-sent.
   */
  send(account: string, message: SendMessage): Promise<SendResult>;
  /**
   * "Send a test email": a canned message naming the account and transport. Never throws for
   * Mandrill or network failures: the result says what happened and, when it failed, includes the
   * diagnosis. The outcome is kept with the settings (`lastVerification`).
   */
  sendTestEmail(account: string, to: string): Promise<TestEmailResult>;
  /** Runs the named checks (API key, reputation, sending domain, SMTP, webhooks) with plain-language advice. */
  diagnose(account: string): Promise<Diagnosis>;
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

/** Everything a sender needs, resolved. */
export interface SenderDeps {
  store: Store;
  credentials: CredentialsReader;
  log: ComponentLogger;
  policy: SuppressionPolicy;
  publicUrl: string | undefined;
}

function resolveDeps(options: SenderOptions): SenderDeps {
  const context = options.context;
  const store = options.store ?? context?.store;
  const credentials = options.credentials ?? context?.credentials;
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
    log: componentLogger(options.logger ?? context?.logger ?? silentLogger, { component: "sender" }),
    policy: options.suppression ?? context?.suppressionPolicy ?? resolveSuppressionPolicy(),
    publicUrl: options.unsubscribe?.publicUrl ?? context?.publicUrl,
  };
}

/** Requires settings with an API key; throws `ERR_MK_NOT_CONFIGURED` in plain words otherwise. */
export async function requireSettings(
  credentials: CredentialsReader,
  account: string,
): Promise<MandrillSettings> {
  const settings = await credentials.get(requireAccountId(account));
  if (settings === undefined) {
    throw new MandrillKitNotConfiguredError(
      `Account "${account}" has no Mandrill settings yet: open Settings → Integrate Email → Mandrill and save them.`,
    );
  }
  if (settings.apiKey === null)
    throw new MandrillKitNotConfiguredError(`Account "${account}" has no Mandrill API key saved.`);
  return settings;
}

function result(
  email: string,
  status: RecipientResult["status"],
  extra: Partial<RecipientResult> = {},
): RecipientResult {
  return {
    email,
    status,
    messageId: null,
    rejectReason: null,
    rejectSide: null,
    queuedReason: null,
    ...extra,
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Creates a sender. See {@link Sender.send}. */
export function createSender(options: SenderOptions = {}): Sender {
  const o = checkOptions("createSender", options, OPTION_NAMES) as SenderOptions;
  const unsubscribe = o.unsubscribe;
  if (
    unsubscribe !== undefined &&
    (typeof unsubscribe.secret !== "string" || unsubscribe.secret.length < 32)
  ) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "unsubscribe.secret",
      "createSender() unsubscribe.secret must be a random string of at least 32 characters.",
    );
  }
  const deps = resolveDeps(o);
  const { store, credentials, log, policy } = deps;
  const api = createApiClient(o.api);
  const smtp = new SmtpPools(o.smtp);
  const records = createRecordQueue(store, log);

  function unsubscribeUrl(account: string, email: string, correlationId: string): string | undefined {
    if (unsubscribe === undefined || deps.publicUrl === undefined) return undefined;
    const token = signUnsubscribeToken(unsubscribe.secret, {
      account,
      email,
      correlationId,
      iat: Math.floor(Date.now() / 1000),
    });
    return `${deps.publicUrl.replace(/\/+$/, "")}${unsubscribe.path ?? "/unsubscribe/mandrill"}/${token}`;
  }

  /** Headers and body additions for one recipient in one-click mode. */
  function oneClick(
    message: SendMessage,
    account: string,
    recipient: ResolvedRecipient,
    correlationId: string,
  ) {
    const url = unsubscribeUrl(account, recipient.normalized, correlationId);
    if (url === undefined) return { message, headers: {} as Record<string, string> };
    const targets = [
      `<${url}>`,
      ...(unsubscribe?.mailto === undefined ? [] : [`<mailto:${unsubscribe.mailto}?subject=unsubscribe>`]),
    ];
    const headers = {
      "List-Unsubscribe": targets.join(", "),
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    };
    if (unsubscribe?.footer === false) return { message, headers };
    return {
      headers,
      message: {
        ...message,
        ...(message.html === undefined
          ? {}
          : {
              html: `${message.html}\n<p style="font-size:12px;color:#666">Don't want these emails? <a href="${escapeHtml(url)}">Unsubscribe</a>.</p>`,
            }),
        ...(message.text === undefined ? {} : { text: `${message.text}\n\n--\nUnsubscribe: ${url}\n` }),
      },
    };
  }

  async function sendApi(
    settings: MandrillSettings,
    message: SendMessage,
    recipients: ResolvedRecipient[],
    correlationId: string,
    headers: Record<string, string>,
  ): Promise<RecipientResult[]> {
    const mandrillMessage = toMandrillMessage(message, settings, recipients, correlationId, headers);
    const body: Record<string, unknown> = {
      message: mandrillMessage,
      ...(message.async === undefined ? {} : { async: message.async }),
      ...(message.ipPool === undefined ? {} : { ip_pool: message.ipPool }),
      ...(message.sendAt === undefined ? {} : { send_at: mandrillTime(message.sendAt) }),
    };
    let items: MandrillSendResponseItem[];
    try {
      items =
        message.template === undefined
          ? await api.call<MandrillSendResponseItem[]>("messages/send", settings.apiKey?.reveal() ?? "", body)
          : await api.call<MandrillSendResponseItem[]>(
              "messages/send-template",
              settings.apiKey?.reveal() ?? "",
              {
                ...body,
                template_name: message.template.name,
                template_content: Object.entries(message.template.content ?? {}).map(([name, content]) => ({
                  name,
                  content,
                })),
              },
            );
    } catch (error) {
      if (error instanceof AmbiguousRequestError) {
        log.warn({ account: settings.account, correlationId }, `send outcome unknown: ${error.message}`);
        return recipients.map((r) => result(r.email, "unknown"));
      }
      throw error;
    }
    const byAddress = new Map<string, MandrillSendResponseItem>();
    for (const item of Array.isArray(items) ? items : []) {
      const key = normalizeEmail(item?.email);
      if (key !== undefined) byAddress.set(key, item);
    }
    return recipients.map((r) => {
      const item = byAddress.get(r.normalized);
      if (item === undefined) return result(r.email, "unknown");
      const reason = item.reject_reason ?? null;
      return result(r.email, item.status, {
        messageId: item._id ?? null,
        rejectReason:
          item.status === "rejected" || item.status === "invalid"
            ? (reason ?? (item.status === "invalid" ? "invalid" : null))
            : null,
        rejectSide:
          item.status === "rejected"
            ? rejectReasonSide(reason)
            : item.status === "invalid"
              ? "recipient"
              : null,
        queuedReason: item.status === "queued" ? (item.queued_reason ?? null) : null,
      });
    });
  }

  async function sendSmtp(
    settings: MandrillSettings,
    message: SendMessage,
    recipients: ResolvedRecipient[],
    correlationId: string,
    headers: Record<string, string>,
  ): Promise<RecipientResult[]> {
    const { transporter, route } = smtp.transporter(settings);
    const list = (type: "to" | "cc" | "bcc") =>
      recipients
        .filter((r) => r.type === type)
        .map((r) => (r.name === undefined ? r.email : { address: r.email, name: r.name }));
    const from = message.from?.email ?? settings.fromEmail;
    const fromName = message.from?.name ?? settings.fromName;
    const replyTo = message.replyTo ?? settings.replyTo ?? undefined;
    let info: { accepted?: (string | { address: string })[]; rejected?: (string | { address: string })[] };
    try {
      info = await transporter.sendMail({
        from: fromName ? { name: fromName, address: from } : from,
        to: list("to"),
        cc: list("cc"),
        bcc: list("bcc"),
        ...(replyTo === undefined ? {} : { replyTo }),
        ...(message.subject === undefined ? {} : { subject: message.subject }),
        ...(message.html === undefined ? {} : { html: message.html }),
        ...(message.text === undefined ? {} : { text: message.text }),
        headers: {
          ...mandrillSmtpHeaders(message, settings, recipients, correlationId),
          ...headers,
          ...(message.headers ?? {}),
        },
        attachments: [
          ...(message.attachments ?? []).map((a) => ({
            filename: a.name,
            contentType: a.type,
            content: typeof a.content === "string" ? a.content : Buffer.from(a.content),
            ...(typeof a.content === "string" ? { encoding: "base64" } : {}),
          })),
          ...(message.images ?? []).map((a) => ({
            filename: a.name,
            cid: a.name,
            contentType: a.type,
            content: typeof a.content === "string" ? a.content : Buffer.from(a.content),
            ...(typeof a.content === "string" ? { encoding: "base64" } : {}),
          })),
        ],
      });
    } catch (thrown) {
      const outcome = classifySmtpFailure(thrown as SmtpFailure, settings, route);
      if (outcome.kind === "error") throw outcome.error;
      if (outcome.kind === "all-rejected") {
        return recipients.map((r) =>
          result(r.email, "rejected", { rejectReason: "smtp-refused", rejectSide: "unknown" }),
        );
      }
      log.warn(
        { account: settings.account, correlationId },
        "SMTP send outcome unknown: no answer after the message was handed over",
      );
      return recipients.map((r) => result(r.email, "unknown"));
    }
    const address = (a: string | { address: string }) =>
      normalizeEmail(typeof a === "string" ? a : a.address);
    const rejected = new Set((info.rejected ?? []).map(address));
    // Over SMTP, "sent" means Mandrill accepted the message for delivery (250 after DATA); Mandrill's
    // own per-recipient verdicts (denylist, unsigned…) arrive later as webhooks (spec §1.2).
    return recipients.map((r) =>
      rejected.has(r.normalized)
        ? result(r.email, "rejected", { rejectReason: "smtp-refused", rejectSide: "unknown" })
        : result(r.email, "sent"),
    );
  }

  async function send(account: string, message: SendMessage): Promise<SendResult> {
    const settings = await requireSettings(credentials, account);
    const recipients = resolveRecipients(message);
    const correlationId = randomUUID();
    // One round trip for every recipient, before anything leaves.
    const suppressions = new Map<string, Suppression>(
      (
        await store.suppressions.check(
          account,
          recipients.map((r) => r.normalized),
        )
      ).map((s) => [s.email, s]),
    );
    const toSend = recipients.filter((r) => !suppressions.has(r.normalized));
    const results = new Map<string, RecipientResult>();
    for (const r of recipients) {
      const s = suppressions.get(r.normalized);
      if (s !== undefined)
        results.set(
          r.normalized,
          result(r.email, "suppressed", { rejectReason: s.reason, rejectSide: "recipient" }),
        );
    }
    if (toSend.length > 0) {
      const transport = settings.transport === "api" ? sendApi : sendSmtp;
      const perRecipient =
        settings.unsubscribeMode === "one-click" &&
        unsubscribe !== undefined &&
        deps.publicUrl !== undefined &&
        message.headers?.["List-Unsubscribe"] === undefined;
      if (perRecipient) {
        // List-Unsubscribe cannot carry merge tags (spec §1.3), so each recipient gets their own copy and link.
        const outcomes = await Promise.all(
          toSend.map((r) => {
            const { message: personal, headers } = oneClick(message, account, r, correlationId);
            return transport(settings, personal, [r], correlationId, headers);
          }),
        );
        for (const [i, res] of outcomes.flat().entries())
          results.set((toSend[i] as ResolvedRecipient).normalized, res);
      } else {
        const outcome = await transport(settings, message, toSend, correlationId, {});
        for (const [i, res] of outcome.entries())
          results.set((toSend[i] as ResolvedRecipient).normalized, res);
      }
    }
    const ordered = recipients.map((r) => results.get(r.normalized) as RecipientResult);
    const sendResult: SendResult = {
      account,
      transport: settings.transport,
      correlationId,
      recipients: ordered,
    };
    await afterSend(settings, sendResult, recipients, message.subject ?? null);
    const attempted = ordered.filter((r) => r.status !== "suppressed");
    if (attempted.length > 0 && attempted.every((r) => r.status === "rejected" || r.status === "invalid")) {
      const reasons = [...new Set(attempted.map((r) => r.rejectReason ?? "unknown"))].join(", ");
      throw new MandrillKitSendError(
        `Mandrill rejected every recipient (${reasons}). Nothing was sent.`,
        sendResult,
      );
    }
    return sendResult;
  }

  async function afterSend(
    settings: MandrillSettings,
    sendResult: SendResult,
    recipients: ResolvedRecipient[],
    subject: string | null,
  ): Promise<void> {
    const now = Date.now();
    const toSuppress = [];
    for (const [i, r] of sendResult.recipients.entries()) {
      const normalized = (recipients[i] as ResolvedRecipient).normalized;
      if (r.status === "rejected" || r.status === "invalid") {
        const effect = rejectSuppression(
          normalized,
          r.rejectReason,
          "send-result",
          now,
          policy,
          `rejected by Mandrill: ${r.rejectReason}`,
        );
        if (effect !== undefined)
          toSuppress.push({
            account: settings.account,
            email: normalized,
            reason: effect.reason,
            source: effect.source,
            detail: effect.detail,
            expiresAt: effect.expiresAt,
            at: now,
          });
        else if (r.rejectSide === "sender") {
          log.warn(
            { account: settings.account, rejectReason: r.rejectReason },
            `configuration problem: Mandrill rejected a recipient for "${r.rejectReason}" — ${senderSideAdvice(r.rejectReason)}`,
          );
        }
      }
    }
    if (toSuppress.length > 0) {
      try {
        // Before send() resolves: the next send to these addresses must already find them.
        await store.suppressions.addMany(toSuppress);
      } catch (error) {
        // The mail already left: report, never turn a delivered send into an error.
        log.error(
          { account: settings.account, correlationId: sendResult.correlationId, err: error },
          "could not add the rejected recipients to the suppression list",
        );
      }
    }
    await records.add(
      sendResult.recipients.map((r, i) => ({
        account: settings.account,
        email: (recipients[i] as ResolvedRecipient).normalized,
        status: r.status,
        messageId: r.messageId,
        rejectReason: r.rejectReason,
        transport: settings.transport,
        correlationId: sendResult.correlationId,
        subject,
        at: now,
      })),
    );
  }

  async function sendTestEmail(account: string, to: string): Promise<TestEmailResult> {
    const recipient = testRecipient(to);
    const settings = await credentials.get(requireAccountId(account));
    let report: TestEmailResult;
    try {
      const s = await requireSettings(credentials, account);
      const sent = await send(account, testMessage(s, recipient));
      const { ok, summary } = summarizeTest(sent, recipient);
      report = {
        ok,
        account,
        to: recipient,
        transport: s.transport,
        summary,
        result: sent,
        error: null,
        diagnosis: null,
      };
    } catch (error) {
      const failure = describeFailure(error);
      const sent = error instanceof MandrillKitSendError ? error.result : null;
      report = {
        ok: false,
        account,
        to: recipient,
        transport: settings?.transport ?? null,
        summary:
          sent !== null
            ? summarizeTest(sent, recipient).summary
            : (failure?.message ?? "The test email failed."),
        result: sent,
        error: failure,
        diagnosis: null,
      };
    }
    if (!report.ok) {
      report.diagnosis = await diagnoseAccount(account).catch(() => null);
    }
    if (settings !== undefined) {
      await credentials
        .recordVerification(account, { at: Date.now(), ok: report.ok, summary: report.summary })
        .catch((error: unknown) => {
          log.warn({ account, err: error }, "could not record the test email outcome");
        });
    }
    log.info({ account, ok: report.ok, transport: report.transport }, `test email: ${report.summary}`);
    // The settings page shows the test send at once: its record is in the store when this resolves.
    await records.flush();
    return report;
  }

  function diagnoseAccount(account: string): Promise<Diagnosis> {
    return diagnose(
      { store, credentials, api, ...(o.smtp === undefined ? {} : { smtp: o.smtp }) },
      requireAccountId(account),
    );
  }

  return {
    send,
    sendTestEmail,
    diagnose: diagnoseAccount,
    api,
    flush: () => records.flush(),
    async close() {
      await records.flush();
      smtp.close();
      await api.close();
    },
  };
}

/** Plain-language advice for a sender-side reject reason. */
export function senderSideAdvice(reason: string | null): string {
  switch (reason) {
    case "unsigned":
      return "the From domain is not verified in Mandrill, or lacks DKIM/SPF. Add and verify it under Mandrill → Settings → Domains.";
    case "invalid-sender":
      return "Mandrill does not accept this From address. Use an address on a verified sending domain.";
    case "test-mode-limit":
      return "the account is in test mode or over its test limit. Use a production API key.";
    case "recipient-domain-mismatch":
      return "a trial/demo Mandrill account can only send to its own verified domain. Upgrade the account or send to that domain.";
    case "rule":
      return "a Mandrill rule rejected the message. Check Mandrill → Settings → Rules.";
    case "custom":
      return "the address is on the account's manual denylist in Mandrill.";
    default:
      return "see Mandrill's activity log for this message.";
  }
}
