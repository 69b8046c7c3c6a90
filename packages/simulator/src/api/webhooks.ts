import { MESSAGE_EVENT_TYPES, SYNC_EVENT_TYPES } from "@mandrill-kit/core";
import type { AccountState } from "../account-state.js";
import { MandrillApiError, validationError } from "../api-error.js";
import { newWebhookKey } from "../ids.js";
import { formatMandrillTime, formatOptionalTime } from "../mandrill-time.js";
import type { WebhookState } from "../webhook-dispatcher.js";
import { type ApiHandler, optionalParam, requireString } from "./api-call.js";

/**
 * Event names `webhooks/add` accepts: the Swagger enum plus `delivered` (2026 OpenAPI) and `deferral`
 * (ASSUMED accepted: the UI offers it, the enum omits it; docs/mandrill.md#api-methods-the-kit-uses).
 */
export const WEBHOOK_EVENTS = [...MESSAGE_EVENT_TYPES, ...SYNC_EVENT_TYPES] as const;

/** A webhook as the `webhooks/*` methods return it (docs/mandrill.md#api-methods-the-kit-uses). */
export function webhookJson(hook: WebhookState): Record<string, unknown> {
  return {
    id: hook.id,
    url: hook.url,
    description: hook.description,
    auth_key: hook.authKey,
    events: [...hook.events],
    created_at: formatMandrillTime(hook.createdAt),
    last_sent_at: formatOptionalTime(hook.lastSentAt),
    batches_sent: hook.batchesSent,
    events_sent: hook.eventsSent,
    last_error: hook.lastError,
  };
}

function eventsParam(value: unknown): string[] {
  // ASSUMED: without `events` the webhook is subscribed to nothing (the parameter is optional, docs/mandrill.md#api-methods-the-kit-uses).
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw validationError("events must be an array of event names");
  for (const e of value) {
    if (typeof e !== "string" || !(WEBHOOK_EVENTS as readonly string[]).includes(e)) {
      throw validationError(`events: "${String(e)}" is not one of ${WEBHOOK_EVENTS.join(", ")}`);
    }
  }
  return [...new Set(value as string[])];
}

function findHook(account: AccountState, params: Record<string, unknown>): WebhookState {
  const raw = params.id;
  const id =
    typeof raw === "number" ? raw : typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(id)) throw validationError("id must be an integer webhook id");
  const hook = account.webhooks.get(id);
  if (hook === undefined) throw new MandrillApiError("Unknown_Webhook", `Unknown hook ID ${id}`);
  return hook;
}

/** `webhooks/list`. */
export const list: ApiHandler = ({ account }) => [...account.webhooks.values()].map(webhookJson);

/** `webhooks/add`: validates the URL like Mandrill (docs/mandrill.md#webhook-url-validation), then issues the key. */
export const add: ApiHandler = async ({ ctx, account, params }) => {
  const url = requireString(params, "url");
  const events = eventsParam(params.events);
  const description = optionalParam(params, "description") ?? "";
  await ctx.dispatcher.validate(url);
  const hook: WebhookState = {
    id: ++ctx.seq.webhook,
    account,
    url,
    description,
    authKey: newWebhookKey(),
    events,
    createdAt: ctx.now(),
    lastSentAt: null,
    batchesSent: 0,
    eventsSent: 0,
    lastError: null,
    queue: [],
    batch: null,
    retryTimer: null,
    posting: null,
    deleted: false,
  };
  account.webhooks.set(hook.id, hook);
  return webhookJson(hook);
};

/** `webhooks/info`. */
export const info: ApiHandler = ({ account, params }) => webhookJson(findHook(account, params));

/**
 * `webhooks/update`: a changed URL is validated again. The key stays the same (ASSUMED: whether
 * Mandrill issues a new key when the URL changes is unconfirmed, docs/mandrill.md#signature-pitfalls).
 */
export const update: ApiHandler = async ({ ctx, account, params }) => {
  const hook = findHook(account, params);
  const url = requireString(params, "url");
  const events = params.events === undefined ? hook.events : eventsParam(params.events);
  if (url !== hook.url) await ctx.dispatcher.validate(url);
  hook.url = url;
  hook.events = events;
  if (params.description !== undefined) hook.description = optionalParam(params, "description") ?? "";
  return webhookJson(hook);
};

/** `webhooks/delete`: returns the deleted webhook; its pending events are dropped. */
export const remove: ApiHandler = ({ ctx, account, params }) => {
  const hook = findHook(account, params);
  account.webhooks.delete(hook.id);
  ctx.dispatcher.remove(hook);
  return webhookJson(hook);
};
