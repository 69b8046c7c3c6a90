import { normalizeEmail } from "@mandrill-kit/core";
import type { SimulatorKeyKind } from "./account-options.js";
import { webhookJson } from "./api/webhooks.js";
import { findAccount, type SimContext } from "./context.js";
import { isExpired, listRejectJson } from "./denylist.js";
import type { FaultSpec } from "./faults.js";
import type { ApiLogEntry, EmittedEvent, OutboxMessage, WebhookDelivery } from "./records.js";

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

/** The `inspect` API of a running simulator. */
export function createInspect(ctx: SimContext): SimulatorInspect {
  const faults = ctx.faults;
  return {
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
}
