import { isMandrillKitError } from "@mandrill-kit/core";
import { mandrillJson, signWebhook, TEST_WEBHOOK_KEY } from "@mandrill-kit/core/plugin";
import type { AccountState } from "./account-state.js";
import { validationError } from "./api-error.js";
import type { SimContext } from "./context.js";
import { type HttpAnswer, sendHttp } from "./http-request.js";
import type { WebhookDelivery } from "./records.js";

/** A registered webhook and its delivery state. */
export interface WebhookState {
  id: number;
  account: AccountState;
  /** The URL exactly as registered: what is signed (docs/mandrill.md#signature-algorithm). */
  url: string;
  description: string;
  authKey: string;
  events: string[];
  createdAt: number;
  lastSentAt: number | null;
  batchesSent: number;
  eventsSent: number;
  lastError: string | null;
  /** Events waiting for the next batch. */
  queue: Record<string, unknown>[];
  /** The batch being posted, or failed and waiting for its retry. Later events wait behind it. */
  batch: { id: string; events: Record<string, unknown>[]; attempts: number } | null;
  retryTimer: NodeJS.Timeout | null;
  posting: Promise<boolean> | null;
  deleted: boolean;
}

/** Posts webhook batches: batching, signing, retries, give-up, URL validation. */
export interface WebhookDispatcher {
  /** Queues an event for `hook`. */
  enqueue(hook: WebhookState, payload: Record<string, unknown>): void;
  /** Posts everything pending now (failed batches get one more attempt) and waits for the answers. */
  flush(): Promise<void>;
  /** Drops `hook`'s failed batch so later events flow again (docs/mandrill.md#webhook-retries). True if there was one. */
  giveUp(hook: WebhookState): boolean;
  /** Checks a URL like Mandrill: HEAD must answer 200, else a `[]` POST signed with `test-webhook` (docs/mandrill.md#webhook-url-validation). */
  validate(url: string): Promise<void>;
  /** Stops delivering to a deleted webhook. */
  remove(hook: WebhookState): void;
  /** Stops timers and waits for requests in flight. */
  close(): Promise<void>;
}

/**
 * Mandrill's webhook JSON (docs/mandrill.md#webhook-wire-format): compact, `/` escaped as `\/` (`mandrillJson` of the webhooks
 * package), and — assumed, like PHP's json_encode — non-ASCII as lower-case `\uXXXX`.
 */
export function webhookEventsJson(events: unknown, escapeUnicode: boolean): string {
  const json = mandrillJson(events);
  return escapeUnicode
    ? json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    : json;
}

function describeFailure(answer: HttpAnswer | undefined, error: unknown): string {
  if (answer !== undefined) return `HTTP ${answer.status}`;
  // The simulator's own time-out says what happened in its message; a socket error in its code.
  if (isMandrillKitError(error)) return error.message;
  const e = error as { code?: unknown; message?: unknown };
  return typeof e?.code === "string" ? `${e.code}` : String(e?.message ?? error);
}

/** Where a webhook URL is posted to (after `webhookTarget`), if the simulator may post there. */
function target(ctx: SimContext, url: string): URL {
  const o = ctx.options;
  let parsed: URL;
  try {
    parsed = new URL(o.webhookTarget(url));
  } catch {
    throw validationError(`url "${url}" is not a valid URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw validationError(`url "${url}" must be an http:// or https:// URL`);
  }
  if (!o.allowWebhookHost(parsed.hostname)) {
    throw validationError(
      `url "${url}" would be posted to ${parsed.hostname}, and this simulator only posts webhooks to loopback addresses (see the allowWebhookHost and webhookTarget options)`,
    );
  }
  return parsed;
}

/** Posts (or HEADs) `events` to `url` signed with `key`, and records the delivery. */
async function request(
  ctx: SimContext,
  inFlight: Set<Promise<unknown>>,
  kind: WebhookDelivery["kind"],
  url: string,
  key: string,
  events: Record<string, unknown>[],
  meta: { webhookId: number | null; batchId: string | null; attempt: number },
): Promise<WebhookDelivery> {
  const o = ctx.options;
  const started = ctx.now();
  const t0 = performance.now();
  let postedTo = url;
  let answer: HttpAnswer | undefined;
  let failure: unknown;
  let mandrillEvents = "";
  let body = "";
  let signature: string | null = null;
  const requestHeaders: Record<string, string> = { "User-Agent": "Mandrill-Webhook/1.0", Accept: "*/*" };
  try {
    const to = target(ctx, url);
    postedTo = to.href;
    if (kind !== "validation-head") {
      mandrillEvents = webhookEventsJson(events, o.escapeUnicode);
      const signed = signWebhook({ key, url, events: mandrillEvents });
      body = signed.body;
      signature = signed.signature;
      requestHeaders["Content-Type"] = "application/x-www-form-urlencoded";
      requestHeaders["Content-Length"] = String(Buffer.byteLength(body));
      requestHeaders["X-Mandrill-Signature"] = signature;
    }
    const pending = sendHttp(to, {
      method: kind === "validation-head" ? "HEAD" : "POST",
      headers: requestHeaders,
      body: kind === "validation-head" ? undefined : body,
      timeoutMs: o.webhookTimeoutMs,
    });
    inFlight.add(pending);
    try {
      answer = await pending;
    } finally {
      inFlight.delete(pending);
    }
  } catch (error) {
    failure = error;
  }
  const ok =
    answer !== undefined &&
    (kind === "batch" ? answer.status >= 200 && answer.status < 300 : answer.status === 200);
  const delivery: WebhookDelivery = {
    seq: ++ctx.seq.delivery,
    kind,
    webhookId: meta.webhookId,
    url,
    postedTo,
    batchId: meta.batchId,
    attempt: meta.attempt,
    eventCount: events.length,
    mandrillEvents,
    body,
    requestHeaders,
    signature,
    status: answer?.status ?? null,
    responseBody: answer?.body ?? null,
    error: ok ? null : describeFailure(answer, failure),
    ok,
    startedAt: started,
    durationMs: Math.round(performance.now() - t0),
  };
  ctx.deliveries.push(delivery);
  return delivery;
}

/** Creates the dispatcher of one simulator. */
export function createWebhookDispatcher(ctx: SimContext): WebhookDispatcher {
  const o = ctx.options;
  let drainScheduled = false;
  let closed = false;
  const inFlight = new Set<Promise<unknown>>();
  const interval =
    o.flushIntervalMs > 0
      ? setInterval(() => {
          for (const hook of hooks()) void drain(hook);
        }, o.flushIntervalMs)
      : undefined;
  interval?.unref();

  function hooks(): WebhookState[] {
    return [...ctx.accounts.values()].flatMap((a) => [...a.webhooks.values()]);
  }

  function scheduleDrainAll(): void {
    if (drainScheduled || closed) return;
    drainScheduled = true;
    setImmediate(() => {
      drainScheduled = false;
      for (const hook of hooks()) void drain(hook);
    });
  }

  async function postBatch(hook: WebhookState): Promise<boolean> {
    const batch = hook.batch;
    if (batch === null) return true;
    batch.attempts += 1;
    const delivery = await request(ctx, inFlight, "batch", hook.url, hook.authKey, batch.events, {
      webhookId: hook.id,
      batchId: batch.id,
      attempt: batch.attempts,
    });
    if (hook.deleted || closed) return false;
    if (delivery.ok) {
      hook.batch = null;
      hook.batchesSent += 1;
      hook.eventsSent += batch.events.length;
      hook.lastSentAt = ctx.now();
      return true;
    }
    hook.lastError = `POST to ${hook.url} failed: ${delivery.error}`;
    const log = { account: hook.account.id, webhook: hook.id, attempt: batch.attempts };
    const delay = o.retryScheduleMs[batch.attempts - 1];
    if (delay === undefined) {
      ctx.log.warn({ ...log, events: batch.events.length }, "webhook batch dropped after its last retry");
      hook.batch = null;
      if (o.flushIntervalMs === 0) scheduleDrainAll();
      return false;
    }
    ctx.log.info({ ...log, retryInMs: delay }, "webhook batch failed; will retry");
    hook.retryTimer = setTimeout(() => {
      hook.retryTimer = null;
      void drain(hook);
    }, delay);
    hook.retryTimer.unref();
    return false;
  }

  /** Posts `hook`'s batches one after the other until its queue is empty or a batch fails. */
  async function drain(hook: WebhookState, force = false): Promise<void> {
    while (!hook.deleted && !closed) {
      if (hook.posting !== null) {
        await hook.posting;
        if (!force) return;
        continue;
      }
      if (hook.retryTimer !== null) {
        if (!force) return;
        clearTimeout(hook.retryTimer);
        hook.retryTimer = null;
      }
      if (hook.batch === null) {
        if (hook.queue.length === 0) return;
        hook.batch = {
          id: `batch-${++ctx.seq.batch}`,
          events: hook.queue.splice(0, o.maxBatchSize),
          attempts: 0,
        };
      }
      const posting = postBatch(hook);
      hook.posting = posting;
      const ok = await posting;
      hook.posting = null;
      if (!ok) return;
    }
  }

  return {
    enqueue(hook, payload) {
      hook.queue.push(payload);
      if (o.flushIntervalMs === 0) scheduleDrainAll();
    },
    async flush() {
      await Promise.all(hooks().map((hook) => drain(hook, true)));
    },
    giveUp(hook) {
      if (hook.batch === null || hook.posting !== null || hook.batch.attempts === 0) return false;
      if (hook.retryTimer !== null) clearTimeout(hook.retryTimer);
      hook.retryTimer = null;
      ctx.log.info(
        { account: hook.account.id, webhook: hook.id, events: hook.batch.events.length },
        "gave up on a failed webhook batch",
      );
      hook.batch = null;
      if (o.flushIntervalMs === 0) scheduleDrainAll();
      return true;
    },
    async validate(url) {
      target(ctx, url);
      const head = await request(ctx, inFlight, "validation-head", url, TEST_WEBHOOK_KEY, [], {
        webhookId: null,
        batchId: null,
        attempt: 1,
      });
      if (head.ok) return;
      const post = await request(ctx, inFlight, "validation-post", url, TEST_WEBHOOK_KEY, [], {
        webhookId: null,
        batchId: null,
        attempt: 1,
      });
      if (post.ok) return;
      throw validationError(
        `url "${url}" could not be verified: the HEAD request got ${head.error} and the POST of mandrill_events=[] signed with "test-webhook" got ${post.error}; one of them must answer 200`,
      );
    },
    remove(hook) {
      hook.deleted = true;
      if (hook.retryTimer !== null) clearTimeout(hook.retryTimer);
      hook.retryTimer = null;
      hook.queue.length = 0;
    },
    async close() {
      closed = true;
      if (interval !== undefined) clearInterval(interval);
      for (const hook of hooks()) {
        if (hook.retryTimer !== null) clearTimeout(hook.retryTimer);
        hook.retryTimer = null;
      }
      await Promise.allSettled([...inFlight]);
    },
  };
}
