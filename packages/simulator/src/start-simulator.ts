import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  componentLogger,
  isMessageEventType,
  MandrillKitConfigError,
  MandrillKitNotFoundError,
  MandrillKitValidationError,
  type MessageEventType,
  normalizeEmail,
  requireEmail,
} from "@mandrill-kit/core";
import type { SMTPServer } from "smtp-server";
import { createAccount, domainState, keyStates, templateState } from "./account-state.js";
import { webhookJson } from "./api/webhooks.js";
import { createApiServer } from "./api-server.js";
import { generateCertificate } from "./certificate.js";
import { addAccount, emit, findAccount, lookupKey, type SimContext } from "./context.js";
import { blacklistEvent, denylist, isExpired, listRejectJson } from "./denylist.js";
import { checkFaultSpec, type FaultHandle, FaultRegistry, type FaultSpec } from "./faults.js";
import { newWebhookKey } from "./ids.js";
import { applyMessageEvent, type EmitDetails } from "./message-events.js";
import {
  checkAccountOptions,
  checkKeyOptions,
  resolveOptions,
  type SimulatorAccountOptions,
  type SimulatorDomainOptions,
  type SimulatorKeyKind,
  type SimulatorKeyOptions,
  type SimulatorOptions,
  type SimulatorTemplateOptions,
} from "./options.js";
import type { ApiLogEntry, EmittedEvent, OutboxMessage, WebhookDelivery } from "./records.js";
import { startSmtpServer } from "./smtp-listener.js";
import { createWebhookDispatcher } from "./webhook-dispatcher.js";

/** Reasons `control.addReject` accepts (Mandrill's denylist reasons, spec §3.6). */
export type DenylistReason = "hard-bounce" | "soft-bounce" | "spam" | "unsub" | "custom";

const DENYLIST_REASONS: readonly string[] = ["hard-bounce", "soft-bounce", "spam", "unsub", "custom"];

/** Input of `control.addReject`. */
export interface AddRejectInput {
  email: string;
  /** @default "custom" (never expires) */
  reason?: DenylistReason;
  detail?: string;
  /** Sender-level entry: only mail from this address is rejected. */
  sender?: string;
  subaccount?: string;
  /** Account id or one of its keys. @default the first account */
  account?: string;
}

/** A recipient's message as the simulator tracks it. */
export interface MessageState {
  _id: string;
  account: string;
  outboxId: string;
  email: string;
  /** What the send answered. */
  status: string;
  /** Where it is now (`messages/info.state`). */
  state: string;
  reject_reason: string | null;
  opens: number;
  clicks: number;
}

/** A webhook with its dispatcher state, for tests. */
export interface WebhookInspection {
  id: number;
  account: string;
  url: string;
  description: string;
  auth_key: string;
  events: string[];
  created_at: string;
  last_sent_at: string | null;
  batches_sent: number;
  events_sent: number;
  last_error: string | null;
  /** Events waiting for a batch. */
  pending: number;
  /** The batch in flight or failed and waiting for its retry. */
  batch: { id: string; events: number; attempts: number; waitingForRetry: boolean } | null;
}

/** Changes the simulated Mandrill while it runs. `account` arguments take an account id or one of its keys. */
export interface SimulatorControl {
  addAccount(options: SimulatorAccountOptions): void;
  addKey(key: string | SimulatorKeyOptions, account?: string): void;
  /** Turns a key valid / test / disabled / ip-restricted. */
  setKeyKind(key: string, kind: SimulatorKeyKind): void;
  addDomain(domain: string | SimulatorDomainOptions, account?: string): void;
  addTemplate(template: SimulatorTemplateOptions, account?: string): void;
  addSubaccount(id: string, account?: string): void;
  setBalance(balance: number, account?: string): void;
  /** Puts an address on the denylist (and emits the `blacklist` sync event). */
  addReject(input: AddRejectInput): void;
  /** Triggers an event on a sent message, with Mandrill's side effects (bounces, spam and unsub denylist it). */
  emit(messageId: string, type: MessageEventType, details?: EmitDetails): Record<string, unknown>;
  /** Injects a fault; see {@link FaultSpec}. */
  fault(spec: FaultSpec): FaultHandle;
  clearFaults(): void;
  /** Posts every pending webhook batch now (failed ones get one more attempt) and waits for the answers. */
  flushWebhooks(): Promise<void>;
  /** Gives up on a webhook's failed batch, like the button in Mandrill's UI (spec §3.4). */
  giveUp(webhookId: number): boolean;
  /** Issues a new key for a webhook, like "reset" in Mandrill's UI (there is no API for it, spec §2.2). */
  resetWebhookKey(webhookId: number): string;
  /** Sends every scheduled message now; returns how many. */
  releaseScheduled(): number;
  /** Empties the outbox, events, deliveries and API log. */
  clearRecords(): void;
}

/** Reads what the simulated Mandrill did. Every call returns copies. */
export interface SimulatorInspect {
  outbox(filter?: { account?: string; transport?: "api" | "smtp" }): OutboxMessage[];
  /** The most recent outbox message. */
  lastMessage(): OutboxMessage | undefined;
  message(id: string): MessageState | undefined;
  events(filter?: { type?: string; email?: string; messageId?: string; account?: string }): EmittedEvent[];
  deliveries(filter?: { webhookId?: number; kind?: WebhookDelivery["kind"] }): WebhookDelivery[];
  webhooks(account?: string): WebhookInspection[];
  /** Denylist entries as `rejects/list` shows them. */
  rejects(account?: string, options?: { includeExpired?: boolean }): Array<Record<string, unknown>>;
  apiLog(): ApiLogEntry[];
  faults(): FaultSpec[];
  /** Every key with its kind and account (plaintext: these are simulator keys). */
  keys(): Array<{ key: string; kind: SimulatorKeyKind; account: string }>;
}

/** A running simulator. */
export interface Simulator {
  /** `http://host:port` of the HTTP server. */
  readonly url: string;
  /** The API base URL, e.g. `http://127.0.0.1:PORT/api/1.0/` (Mandrill's is `https://mandrillapp.com/api/1.0/`). */
  readonly apiUrl: string;
  /** SMTP: `port` offers STARTTLS (null when disabled), `securePort` is implicit TLS; `ca` is the certificate to trust. */
  readonly smtp: { host: string; port: number | null; securePort: number | null; ca: string };
  readonly control: SimulatorControl;
  readonly inspect: SimulatorInspect;
  /** Stops both servers, the dispatcher and every timer. */
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeSmtp(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * Starts a local Mandrill: the HTTP API subset of spec §2, an SMTP server (spec §1) and a webhook
 * dispatcher that signs like Mandrill (spec §3–4). Options are validated synchronously (a bad option
 * throws `MandrillKitConfigError` before anything listens); the promise resolves once both servers
 * listen on `host` (127.0.0.1, free ports by default).
 */
export function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const o = resolveOptions(options);
  return start(o);
}

async function start(o: ReturnType<typeof resolveOptions>): Promise<Simulator> {
  const faults = new FaultRegistry();
  for (const f of o.faults) faults.add(f);
  const ctx: SimContext = {
    options: o,
    log: componentLogger(o.logger, { component: "simulator" }),
    now: o.now,
    baseUrl: "",
    accounts: new Map(),
    keys: new Map(),
    messages: new Map(),
    outbox: [],
    events: [],
    apiLog: [],
    deliveries: [],
    faults,
    dispatcher: undefined as never,
    pending: new Set(),
    scheduled: new Map(),
    closed: false,
    seq: { outbox: 0, event: 0, delivery: 0, api: 0, webhook: 0, batch: 0 },
  };
  ctx.dispatcher = createWebhookDispatcher(ctx);
  for (const a of o.accounts) {
    const account = createAccount(a, o.now());
    addAccount(ctx, account, keyStates(a.keys ?? [], account));
  }

  const tls =
    o.tls ??
    (o.smtpPort === false && o.smtpsPort === false
      ? { key: "", cert: "" }
      : await generateCertificate(o.host));
  const http = createApiServer(ctx);
  const smtpServers: SMTPServer[] = [];
  let smtpPort: number | null = null;
  let smtpsPort: number | null = null;
  try {
    const port = await listen(http, o.port, o.host);
    ctx.baseUrl = `http://${hostForUrl(o.host)}:${port}`;
    if (o.smtpPort !== false) {
      const s = await startSmtpServer(ctx, { port: o.smtpPort, secure: false, ...tls });
      smtpServers.push(s.server);
      smtpPort = s.port;
    }
    if (o.smtpsPort !== false) {
      const s = await startSmtpServer(ctx, { port: o.smtpsPort, secure: true, ...tls });
      smtpServers.push(s.server);
      smtpsPort = s.port;
    }
  } catch (error) {
    http.close();
    http.closeAllConnections();
    await Promise.all(smtpServers.map(closeSmtp));
    await ctx.dispatcher.close();
    throw error;
  }
  ctx.log.info({ url: ctx.baseUrl, smtpPort, smtpsPort }, "Mandrill simulator listening");

  const hookById = (id: number) => {
    for (const account of ctx.accounts.values()) {
      const hook = account.webhooks.get(id);
      if (hook !== undefined) return hook;
    }
    throw new MandrillKitNotFoundError(`No webhook with id ${id}; list them with sim.inspect.webhooks().`);
  };

  const control: SimulatorControl = {
    addAccount(options) {
      const a = checkAccountOptions(options, "control.addAccount()", true);
      if (ctx.accounts.has(a.id))
        throw new MandrillKitConfigError(
          "ERR_MK_CONFIG_INVALID",
          "id",
          `An account "${a.id}" already exists.`,
        );
      const account = createAccount(a, ctx.now());
      addAccount(ctx, account, keyStates(a.keys ?? [], account));
    },
    addKey(key, account) {
      const k = checkKeyOptions(key, "control.addKey()");
      const target = findAccount(ctx, account);
      for (const state of keyStates([k], target)) ctx.keys.set(state.key, state);
    },
    setKeyKind(key, kind) {
      const state = lookupKey(ctx, key);
      if (state === undefined) {
        throw new MandrillKitNotFoundError(
          "control.setKeyKind(): unknown key; add it with control.addKey() first.",
        );
      }
      state.kind = checkKeyOptions({ key, kind }, "control.setKeyKind()").kind ?? "valid";
    },
    addDomain(domain, account) {
      checkAccountOptions({ domains: [domain] }, "control.addDomain()", false);
      const d = domainState(domain, ctx.now());
      findAccount(ctx, account).domains.set(d.domain, d);
    },
    addTemplate(template, account) {
      checkAccountOptions({ templates: [template] }, "control.addTemplate()", false);
      const t = templateState(template, ctx.now());
      findAccount(ctx, account).templates.set(t.slug, t);
    },
    addSubaccount(id, account) {
      checkAccountOptions({ subaccounts: [id] }, "control.addSubaccount()", false);
      findAccount(ctx, account).subaccounts.add(id);
    },
    setBalance(balance, account) {
      checkAccountOptions({ balance }, "control.setBalance()", false);
      findAccount(ctx, account).balance = balance;
    },
    addReject(input) {
      const account = findAccount(ctx, input.account);
      const email = requireEmail(input.email, "email");
      const reason = input.reason ?? "custom";
      if (!DENYLIST_REASONS.includes(reason)) {
        throw new MandrillKitValidationError(
          "ERR_MK_VALIDATION_FAILED",
          `control.addReject(): reason must be one of ${DENYLIST_REASONS.join(", ")}; received ${JSON.stringify(reason)}.`,
          [{ field: "reason", message: "is not a denylist reason" }],
        );
      }
      const now = ctx.now();
      const change = denylist(
        account,
        {
          email,
          reason,
          detail: input.detail ?? null,
          sender: input.sender === undefined ? null : (normalizeEmail(input.sender) ?? input.sender),
          subaccount: input.subaccount ?? null,
        },
        now,
      );
      if (change !== undefined) {
        emit(ctx, account, "blacklist", blacklistEvent(change.action, change.entry, now), {
          messageId: null,
          email,
        });
      }
    },
    emit(messageId, type, details) {
      const record = ctx.messages.get(messageId);
      if (record === undefined) {
        throw new MandrillKitNotFoundError(`control.emit(): no message with _id "${messageId}".`);
      }
      if (!isMessageEventType(type)) {
        throw new MandrillKitValidationError(
          "ERR_MK_VALIDATION_FAILED",
          `control.emit(): "${String(type)}" is not a message event type (send, delivered, deferral, hard_bounce, soft_bounce, open, click, spam, unsub, reject).`,
          [{ field: "type", message: "is not a message event type" }],
        );
      }
      return applyMessageEvent(ctx, record, type, details);
    },
    fault(spec) {
      return faults.add(checkFaultSpec(spec));
    },
    clearFaults() {
      faults.clear();
    },
    flushWebhooks() {
      return ctx.dispatcher.flush();
    },
    giveUp(webhookId) {
      return ctx.dispatcher.giveUp(hookById(webhookId));
    },
    resetWebhookKey(webhookId) {
      const hook = hookById(webhookId);
      hook.authKey = newWebhookKey();
      return hook.authKey;
    },
    releaseScheduled() {
      const due = [...ctx.scheduled.values()];
      for (const s of due) s.run();
      return due.length;
    },
    clearRecords() {
      ctx.outbox.length = 0;
      ctx.events.length = 0;
      ctx.deliveries.length = 0;
      ctx.apiLog.length = 0;
    },
  };

  const inspect: SimulatorInspect = {
    outbox(filter = {}) {
      return structuredClone(
        ctx.outbox.filter(
          (m) =>
            (filter.account === undefined || m.account === findAccount(ctx, filter.account).id) &&
            (filter.transport === undefined || m.transport === filter.transport),
        ),
      );
    },
    lastMessage() {
      const last = ctx.outbox.at(-1);
      return last === undefined ? undefined : structuredClone(last);
    },
    message(id) {
      const m = ctx.messages.get(id);
      if (m === undefined) return undefined;
      return {
        _id: m._id,
        account: m.account.id,
        outboxId: m.outboxId,
        email: m.email,
        status: m.status,
        state: m.state,
        reject_reason: m.rejectReason,
        opens: m.opens.length,
        clicks: m.clicks.length,
      };
    },
    events(filter = {}) {
      return structuredClone(
        ctx.events.filter(
          (e) =>
            (filter.type === undefined || e.type === filter.type) &&
            (filter.email === undefined || e.email === normalizeEmail(filter.email)) &&
            (filter.messageId === undefined || e.messageId === filter.messageId) &&
            (filter.account === undefined || e.account === findAccount(ctx, filter.account).id),
        ),
      );
    },
    deliveries(filter = {}) {
      return structuredClone(
        ctx.deliveries.filter(
          (d) =>
            (filter.webhookId === undefined || d.webhookId === filter.webhookId) &&
            (filter.kind === undefined || d.kind === filter.kind),
        ),
      );
    },
    webhooks(account) {
      const accounts = account === undefined ? [...ctx.accounts.values()] : [findAccount(ctx, account)];
      return accounts.flatMap((a) =>
        [...a.webhooks.values()].map((hook) => ({
          ...(webhookJson(hook) as Omit<WebhookInspection, "account" | "pending" | "batch">),
          account: a.id,
          pending: hook.queue.length,
          batch:
            hook.batch === null
              ? null
              : {
                  id: hook.batch.id,
                  events: hook.batch.events.length,
                  attempts: hook.batch.attempts,
                  waitingForRetry: hook.retryTimer !== null,
                },
        })),
      );
    },
    rejects(account, opts = {}) {
      const now = ctx.now();
      return findAccount(ctx, account)
        .rejects.filter((e) => opts.includeExpired === true || !isExpired(e, now))
        .map((e) => listRejectJson(e, now));
    },
    apiLog() {
      return structuredClone(ctx.apiLog);
    },
    faults() {
      return faults.list();
    },
    keys() {
      return [...ctx.keys.values()].map((k) => ({ key: k.key, kind: k.kind, account: k.account.id }));
    },
  };

  let closing: Promise<void> | undefined;
  return {
    url: ctx.baseUrl,
    apiUrl: `${ctx.baseUrl}/api/1.0/`,
    smtp: { host: o.host, port: smtpPort, securePort: smtpsPort, ca: tls.cert },
    control,
    inspect,
    close() {
      closing ??= (async () => {
        ctx.closed = true;
        for (const work of [...ctx.pending]) work.cancel();
        ctx.scheduled.clear();
        faults.clear();
        const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeAllConnections();
        await Promise.all([httpClosed, ...smtpServers.map(closeSmtp), ctx.dispatcher.close()]);
      })();
      return closing;
    },
  };
}
