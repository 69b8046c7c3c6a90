import { createHash } from "node:crypto";
import { MandrillKitNotFoundError } from "@mandrill-kit/core";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";
import {
  type AccountState,
  createAccount,
  type KeyState,
  keyStates,
  type MessageRecord,
} from "./account-state.js";
import type { FaultRegistry } from "./faults.js";
import type { ResolvedOptions } from "./options.js";
import type { ApiLogEntry, EmittedEvent, OutboxMessage, WebhookDelivery } from "./records.js";
import type { WebhookDispatcher } from "./webhook-dispatcher.js";

/** A cancellable piece of deferred work (queued or scheduled sends). */
export interface PendingWork {
  cancel(): void;
}

/** Everything one running simulator holds. Internal. */
export interface SimContext {
  readonly options: ResolvedOptions;
  readonly log: ComponentLogger;
  now(): number;
  /** `http://host:port` of the API server, set once it listens. */
  baseUrl: string;
  readonly accounts: Map<string, AccountState>;
  readonly keys: Map<string, KeyState>;
  readonly messages: Map<string, MessageRecord>;
  readonly outbox: OutboxMessage[];
  readonly events: EmittedEvent[];
  readonly apiLog: ApiLogEntry[];
  readonly deliveries: WebhookDelivery[];
  readonly faults: FaultRegistry;
  dispatcher: WebhookDispatcher;
  readonly pending: Set<PendingWork>;
  /** Scheduled sends waiting for their `send_at`, by outbox id. */
  readonly scheduled: Map<string, { at: number; run: () => void; work: PendingWork }>;
  closed: boolean;
  seq: { outbox: number; event: number; delivery: number; api: number; webhook: number; batch: number };
}

/** Adds an account and its keys. */
export function addAccount(ctx: SimContext, account: AccountState, keys: KeyState[]): void {
  ctx.accounts.set(account.id, account);
  for (const k of keys) ctx.keys.set(k.key, k);
}

/**
 * The key record for `key`: a configured key, or — when `acceptAnyKey` accepts it — a valid key of an
 * account created for it on first use.
 */
export function lookupKey(ctx: SimContext, key: string): KeyState | undefined {
  const known = ctx.keys.get(key);
  if (known !== undefined) return known;
  if (key.length === 0 || !ctx.options.acceptAnyKey(key)) return undefined;
  const id = `key-${createHash("sha256").update(key).digest("hex").slice(0, 12)}`;
  const account = createAccount({ ...ctx.options.anyKeyAccount, id }, ctx.now());
  const [state] = keyStates([key], account);
  if (state === undefined) return undefined;
  addAccount(ctx, account, [state]);
  return state;
}

/** The account named by `ref`: an account id, or an API key of it. Throws when there is none. */
export function findAccount(ctx: SimContext, ref: string | undefined): AccountState {
  if (ref === undefined) {
    const first = ctx.accounts.values().next();
    if (first.done === true) {
      throw new MandrillKitNotFoundError("The simulator has no account; add one with control.addAccount().");
    }
    return first.value;
  }
  const account = ctx.accounts.get(ref) ?? lookupKey(ctx, ref)?.account;
  if (account === undefined) {
    throw new MandrillKitNotFoundError(
      `No simulated account "${ref.length > 24 ? `${ref.slice(0, 8)}…` : ref}": pass an account id (${[...ctx.accounts.keys()].join(", ")}) or one of its API keys.`,
    );
  }
  return account;
}

/**
 * Records an event and queues it for every webhook of `account` subscribed to its type (docs/mandrill.md#webhook-registration:
 * a webhook only receives the events it was added with).
 */
export function emit(
  ctx: SimContext,
  account: AccountState,
  type: string,
  payload: Record<string, unknown>,
  about: { messageId: string | null; email: string | null },
): EmittedEvent {
  const webhookIds: number[] = [];
  for (const hook of account.webhooks.values()) {
    if (hook.events.includes(type)) {
      webhookIds.push(hook.id);
      ctx.dispatcher.enqueue(hook, payload);
    }
  }
  const event: EmittedEvent = {
    seq: ++ctx.seq.event,
    account: account.id,
    type,
    messageId: about.messageId,
    email: about.email,
    at: ctx.now(),
    payload,
    webhookIds,
  };
  ctx.events.push(event);
  ctx.log.debug({ account: account.id, event: type, webhooks: webhookIds.length }, "event emitted");
  return event;
}
