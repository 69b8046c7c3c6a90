import { type MandrillMessage, type MandrillSendResponseItem, normalizeEmail } from "@mandrill-kit/core";
import { maskSecret } from "@mandrill-kit/core/plugin";
import type { AccountState, MessageRecord, RejectState } from "./account-state.js";
import { domainState } from "./account-state.js";
import type { PendingWork, SimContext } from "./context.js";
import { blockingEntry } from "./denylist.js";
import { newMessageId, newVersion } from "./ids.js";
import { formatMandrillTime } from "./mandrill-time.js";
import { applyMergeTags, mergeValues } from "./merge-tags.js";
import { applyMessageEvent } from "./message-events.js";
import type { OutboxMessage, OutboxRecipient } from "./records.js";
import { readSendRequest, type SendInput, type SendRequest } from "./send-request.js";

export type { SendInput } from "./send-request.js";

/**
 * Mandrill's test addresses (docs/mandrill.md#api-keys): each is accepted and then produces its event. `reject@` is
 * rejected as if it were on the denylist for a hard bounce (ASSUMED: the real `reject_reason` is not
 * documented).
 */
export const MAGIC_ADDRESSES = Object.freeze({
  reject: "reject@test.mandrillapp.com",
  hardBounce: "hard_bounce@test.mandrillapp.com",
  softBounce: "soft_bounce@test.mandrillapp.com",
  spam: "spam@test.mandrillapp.com",
});

const FOLLOW_UP: Record<string, "hard_bounce" | "soft_bounce" | "spam"> = {
  [MAGIC_ADDRESSES.hardBounce]: "hard_bounce",
  [MAGIC_ADDRESSES.softBounce]: "soft_bounce",
  [MAGIC_ADDRESSES.spam]: "spam",
};

const MAX_TIMER_MS = 2 ** 31 - 1;

type Decision = { status: "sent" } | { status: "rejected"; reason: string; entry: RejectState | null };

/** Whether mail from `domain` is signed: verified with valid SPF and DKIM (docs/mandrill.md#send-request and docs/mandrill.md#troubleshooting). */
function domainIsSigned(ctx: SimContext, account: AccountState, domain: string): boolean {
  if (account.anyDomain) {
    if (!account.domains.has(domain)) account.domains.set(domain, domainState(domain, ctx.now()));
    return true;
  }
  const state = account.domains.get(domain);
  return state?.spf === true && state.dkim && state.verifiedAt !== null;
}

function decide(
  account: AccountState,
  email: string,
  sender: string,
  subaccount: string | null,
  signed: boolean,
  now: number,
): Decision {
  if (!signed) return { status: "rejected", reason: "unsigned", entry: null };
  if (email === MAGIC_ADDRESSES.reject) return { status: "rejected", reason: "hard-bounce", entry: null };
  const entry = blockingEntry(account, email, sender, subaccount, now);
  if (entry !== undefined) return { status: "rejected", reason: entry.reason, entry };
  return { status: "sent" };
}

/** Emits what happens to a recipient once Mandrill processes it: `reject`, or `send` and what follows. */
function settle(ctx: SimContext, record: MessageRecord, decision: Decision): void {
  if (decision.status === "rejected") {
    record.rejectReason = decision.reason;
    record.reject = decision.entry;
    applyMessageEvent(ctx, record, "reject");
    return;
  }
  applyMessageEvent(ctx, record, "send");
  if (ctx.options.emitDelivered) applyMessageEvent(ctx, record, "delivered");
  const followUp = FOLLOW_UP[record.email];
  if (followUp !== undefined) applyMessageEvent(ctx, record, followUp);
}

function defer(ctx: SimContext, delayMs: number, run: () => void): PendingWork {
  let timer: NodeJS.Timeout | undefined;
  const work: PendingWork = {
    cancel: () => {
      if (timer !== undefined) clearTimeout(timer);
      ctx.pending.delete(work);
    },
  };
  const arm = (ms: number) => {
    timer = setTimeout(
      () => {
        const left = delayMs - MAX_TIMER_MS;
        if (ms === MAX_TIMER_MS && left > 0) {
          delayMs = left;
          arm(Math.min(left, MAX_TIMER_MS));
          return;
        }
        ctx.pending.delete(work);
        if (!ctx.closed) run();
      },
      Math.max(0, ms),
    );
    timer.unref();
  };
  arm(Math.min(delayMs, MAX_TIMER_MS));
  ctx.pending.add(work);
  return work;
}

function outboxEntry(ctx: SimContext, input: SendInput, req: SendRequest, now: number): OutboxMessage {
  const { key, params } = input;
  return {
    id: `out-${++ctx.seq.outbox}`,
    transport: input.transport,
    account: key.account.id,
    key: maskSecret(key.key),
    test: key.kind === "test",
    createdAt: now,
    message: structuredClone(req.message) as unknown as MandrillMessage,
    template: req.template === null ? null : { name: req.template.slug, content: req.templateContent },
    async: req.queued,
    send_at: req.sendAt === null ? null : formatMandrillTime(req.sendAt),
    ip_pool: typeof params.ip_pool === "string" ? params.ip_pool : null,
    from: { email: req.from, name: req.fromName },
    subject: req.subject,
    html: req.html,
    text: req.text,
    headers: req.headers,
    tags: [...req.tags],
    metadata: req.metadata,
    subaccount: req.subaccount,
    recipients: [],
    smtp: input.smtp ?? null,
  };
}

/** What one recipient of a send became: its answer, its outbox line and, unless invalid, its message. */
interface Accepted {
  item: MandrillSendResponseItem;
  rendered: OutboxRecipient;
  record?: MessageRecord;
  decision: Decision | null;
}

function acceptRecipient(
  ctx: SimContext,
  input: SendInput,
  req: SendRequest,
  recipient: SendRequest["to"][number],
  context: { outboxId: string; signed: boolean; now: number },
): Accepted {
  const { subject, html, text } = req;
  const email = normalizeEmail(recipient.email);
  if (email === undefined) {
    // Bad syntax: `invalid`, no `_id` (docs/mandrill.md#send-response).
    const item = {
      email: recipient.email,
      status: "invalid",
      reject_reason: null,
      queued_reason: null,
    } as const;
    return { item, rendered: { ...recipient, ...item, _id: null, subject, html, text }, decision: null };
  }
  const account = input.key.account;
  const _id = newMessageId();
  const values = mergeValues(req.merge.globalVars, req.merge.perRecipient.get(email) ?? []);
  const unsub = (redirect: string | null) =>
    `${ctx.baseUrl}/unsub/${_id}${redirect === null ? "" : `?redirect=${encodeURIComponent(redirect)}`}`;
  const render = (s: string | null) =>
    s === null || !req.merge.enabled ? s : applyMergeTags(s, values, req.merge.language, unsub);
  const decision =
    req.sendAt === null && !req.queued
      ? decide(account, email, req.from, req.subaccount, context.signed, context.now)
      : null;
  const status =
    req.sendAt !== null
      ? "scheduled"
      : req.queued
        ? "queued"
        : decision?.status === "sent"
          ? "sent"
          : "rejected";
  const rejectReason = decision?.status === "rejected" ? decision.reason : null;
  const item: MandrillSendResponseItem = {
    email: recipient.email,
    status,
    reject_reason: rejectReason,
    queued_reason: status === "queued" ? req.queuedReason : null,
    _id,
  };
  const rendered: OutboxRecipient = {
    ...recipient,
    email,
    status,
    reject_reason: rejectReason,
    queued_reason: item.queued_reason ?? null,
    _id,
    subject: render(subject),
    html: render(html),
    text: render(text),
  };
  const record: MessageRecord = {
    _id,
    version: newVersion(),
    account,
    outboxId: context.outboxId,
    email,
    status,
    rejectReason,
    queuedReason: rendered.queued_reason,
    state: status,
    ts: req.sendAt ?? context.now,
    sender: req.from,
    subject: rendered.subject,
    tags: [...req.tags],
    metadata: { ...req.metadata, ...(req.recipientMetadata.get(email) ?? {}) },
    subaccount: req.subaccount,
    template: req.template?.slug ?? null,
    opens: [],
    clicks: [],
    smtpEvents: [],
    test: input.key.kind === "test",
    reject: null,
  };
  return { item, rendered, record, decision };
}

/**
 * Runs one send (docs/mandrill.md#send-request, docs/mandrill.md#send-response and docs/mandrill.md#rejection-denylist): validates the call, answers per recipient `sent` / `queued` /
 * `scheduled` / `rejected` / `invalid`, records the outbox entry and emits the events that follow.
 * Throws {@link MandrillApiError} for call-level errors.
 */
export function sendMessage(ctx: SimContext, input: SendInput): MandrillSendResponseItem[] {
  const account = input.key.account;
  const now = ctx.now();
  const req = readSendRequest(input, now);
  const signed = domainIsSigned(ctx, account, req.from.slice(req.from.indexOf("@") + 1));
  const outbox = outboxEntry(ctx, input, req, now);
  const response: MandrillSendResponseItem[] = [];
  const toProcess: Array<{ record: MessageRecord; decision: Decision | null }> = [];
  for (const recipient of req.to) {
    const accepted = acceptRecipient(ctx, input, req, recipient, { outboxId: outbox.id, signed, now });
    response.push(accepted.item);
    outbox.recipients.push(accepted.rendered);
    if (accepted.record === undefined) continue;
    ctx.messages.set(accepted.record._id, accepted.record);
    account.messages.push(accepted.record);
    toProcess.push({ record: accepted.record, decision: accepted.decision });
  }
  ctx.outbox.push(outbox);

  const run = () => {
    const at = ctx.now();
    for (const { record, decision } of toProcess) {
      settle(ctx, record, decision ?? decide(account, record.email, req.from, req.subaccount, signed, at));
    }
  };
  if (req.sendAt !== null) {
    const work = defer(ctx, req.sendAt - now, () => {
      ctx.scheduled.delete(outbox.id);
      run();
    });
    ctx.scheduled.set(outbox.id, {
      at: req.sendAt,
      work,
      run: () => {
        work.cancel();
        ctx.scheduled.delete(outbox.id);
        run();
      },
    });
  } else if (req.queued) {
    // Queued mail is processed in the background; its outcome is only visible through events (docs/mandrill.md#send-request).
    defer(ctx, 0, run);
  } else {
    run();
  }
  return response;
}
