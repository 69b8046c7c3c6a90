import {
  isMessageEventType,
  MandrillKitConfigError,
  MandrillKitNotFoundError,
  MandrillKitValidationError,
  type MessageEventType,
  normalizeEmail,
  requireEmail,
} from "@mandrill-kit/core";
import {
  checkAccountOptions,
  checkKeyOptions,
  type SimulatorAccountOptions,
  type SimulatorDomainOptions,
  type SimulatorKeyKind,
  type SimulatorKeyOptions,
  type SimulatorTemplateOptions,
} from "./account-options.js";
import { createAccount, domainState, keyStates, templateState } from "./account-state.js";
import { addAccount, emit, findAccount, lookupKey, type SimContext } from "./context.js";
import { blacklistEvent, denylist } from "./denylist.js";
import { checkFaultSpec, type FaultHandle, type FaultSpec } from "./faults.js";
import { newWebhookKey } from "./ids.js";
import { applyMessageEvent, type EmitDetails } from "./message-events.js";
import type { WebhookState } from "./webhook-dispatcher.js";

/** Reasons `control.addReject` accepts (Mandrill's denylist reasons, docs/mandrill.md#sync-events). */
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
  /** Gives up on a webhook's failed batch, like the button in Mandrill's UI (docs/mandrill.md#webhook-retries). */
  giveUp(webhookId: number): boolean;
  /** Issues a new key for a webhook, like "reset" in Mandrill's UI (there is no API for it, docs/mandrill.md#api-methods-the-kit-uses). */
  resetWebhookKey(webhookId: number): string;
  /** Sends every scheduled message now; returns how many. */
  releaseScheduled(): number;
  /** Empties the outbox, events, deliveries and API log. */
  clearRecords(): void;
}

function hookById(ctx: SimContext, id: number): WebhookState {
  for (const account of ctx.accounts.values()) {
    const hook = account.webhooks.get(id);
    if (hook !== undefined) return hook;
  }
  throw new MandrillKitNotFoundError(`No webhook with id ${id}; list them with sim.inspect.webhooks().`);
}

/** The `control` API of a running simulator. */
export function createControl(ctx: SimContext): SimulatorControl {
  const faults = ctx.faults;
  return {
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
      return ctx.dispatcher.giveUp(hookById(ctx, webhookId));
    },
    resetWebhookKey(webhookId) {
      const hook = hookById(ctx, webhookId);
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
}
