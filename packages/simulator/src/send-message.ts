import {
  type MandrillMessage,
  type MandrillSendResponseItem,
  maskSecret,
  normalizeEmail,
} from "@mandrill-kit/core";
import type { AccountState, KeyState, MessageRecord, RejectState, TemplateState } from "./account-state.js";
import { domainState } from "./account-state.js";
import { MandrillApiError, validationError } from "./api-error.js";
import type { PendingWork, SimContext } from "./context.js";
import { blockingEntry } from "./denylist.js";
import { newMessageId, newVersion } from "./ids.js";
import { formatMandrillTime, parseMandrillTime } from "./mandrill-time.js";
import { applyMergeTags, fillEditableRegions, mergeValues } from "./merge-tags.js";
import { applyMessageEvent } from "./message-events.js";
import type { OutboxMessage, OutboxRecipient, OutboxSmtpDetails } from "./records.js";

/**
 * Mandrill's test addresses (spec §2.7): each is accepted and then produces its event. `reject@` is
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

/** Messages with more than this many recipients are always queued (spec §2.3). */
const MAX_SYNC_RECIPIENTS = 10;
const YEAR_MS = 366 * 24 * 60 * 60 * 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One `messages/send` or `messages/send-template` call, from the API or converted from SMTP. */
export interface SendInput {
  key: KeyState;
  transport: "api" | "smtp";
  /** The call's parameters: `message`, `async`, `send_at`, `ip_pool`, and for templates `template_name`, `template_content`. */
  params: Record<string, unknown>;
  withTemplate: boolean;
  smtp?: OutboxSmtpDetails;
}

type Decision = { status: "sent" } | { status: "rejected"; reason: string; entry: RejectState | null };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown, field: string): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string") throw validationError(`${field} must be a string`);
  return value;
}

/** A content field: any string is kept as given (even empty); absent or null → `null`. */
function content(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw validationError(`${field} must be a string`);
  return value;
}

function nameValueList(value: unknown, field: string): Array<{ name: string; content: unknown }> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw validationError(`${field} must be an array of {name, content}`);
  return value.map((v, i) => {
    if (!isObject(v) || typeof v.name !== "string") throw validationError(`${field}[${i}].name is required`);
    return { name: v.name, content: v.content };
  });
}

function findTemplate(account: AccountState, name: unknown): TemplateState {
  if (typeof name !== "string" || name.length === 0) throw validationError("template_name is required");
  const found = account.templates.get(name) ?? [...account.templates.values()].find((t) => t.name === name);
  if (found === undefined) throw new MandrillApiError("Unknown_Template", `No such template "${name}"`);
  return found;
}

/** Whether mail from `domain` is signed: verified with valid SPF and DKIM (spec §2.3, §6). */
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

/**
 * Runs one send (spec §2.3–2.4, §5): validates the call, answers per recipient `sent` / `queued` /
 * `scheduled` / `rejected` / `invalid`, records the outbox entry and emits the events that follow.
 * Throws {@link MandrillApiError} for call-level errors.
 */
export function sendMessage(ctx: SimContext, input: SendInput): MandrillSendResponseItem[] {
  const { params, key } = input;
  const account = key.account;
  const now = ctx.now();
  const message = params.message;
  if (!isObject(message)) throw validationError("message must be an object");
  if (!Array.isArray(message.to)) throw validationError("message.to must be an array of {email, name, type}");
  const to = message.to.map((r: unknown, i: number) => {
    if (!isObject(r) || typeof r.email !== "string")
      throw validationError(`message.to[${i}].email is required`);
    const type = r.type === "cc" || r.type === "bcc" ? r.type : "to";
    return { email: r.email, name: typeof r.name === "string" ? r.name : null, type } as const;
  });
  const template = input.withTemplate ? findTemplate(account, params.template_name) : null;
  const templateContent = input.withTemplate
    ? nameValueList(params.template_content, "template_content").map((b) => ({
        name: b.name,
        content: b.content === null || b.content === undefined ? "" : String(b.content),
      }))
    : [];
  const subaccount = optionalString(message.subaccount, "message.subaccount");
  if (subaccount !== null && !account.subaccounts.has(subaccount)) {
    throw new MandrillApiError("Unknown_Subaccount", `No subaccount exists with the id '${subaccount}'`);
  }
  const tags = message.tags === undefined || message.tags === null ? [] : message.tags;
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string")) {
    throw validationError("message.tags must be an array of strings");
  }
  const reserved = (tags as string[]).find((t) => t.startsWith("_"));
  if (reserved !== undefined)
    throw validationError(`tag "${reserved}" starts with an underscore, which is reserved`);
  const metadata = isObject(message.metadata) ? { ...message.metadata } : {};
  const fromRaw = optionalString(message.from_email, "message.from_email") ?? template?.fromEmail ?? null;
  if (fromRaw === null) throw validationError("message.from_email is required");
  const from = normalizeEmail(fromRaw);
  if (from === undefined) throw validationError(`message.from_email "${fromRaw}": email address is invalid`);
  const fromName = optionalString(message.from_name, "message.from_name") ?? template?.fromName ?? null;

  let sendAt: number | null = null;
  const sendAtRaw = optionalString(params.send_at, "send_at");
  if (sendAtRaw !== null) {
    const at = parseMandrillTime(sendAtRaw);
    if (at === undefined) throw validationError(`send_at "${sendAtRaw}" must be "YYYY-MM-DD HH:MM:SS" (UTC)`);
    if (at > now) {
      if (at > now + YEAR_MS) throw validationError("send_at must be at most one year in the future");
      if (account.balance <= 0) {
        throw new MandrillApiError(
          "PaymentRequired",
          "Email scheduling is only available for accounts with a positive balance.",
        );
      }
      sendAt = at;
    }
  }
  const queued = params.async === true || to.length > MAX_SYNC_RECIPIENTS;
  const queuedReason = to.length > MAX_SYNC_RECIPIENTS ? "multiple-recipients" : null;
  const signed = domainIsSigned(ctx, account, from.slice(from.indexOf("@") + 1));

  const subject = content(message.subject, "message.subject") ?? template?.subject ?? null;
  const html =
    template !== null
      ? fillEditableRegions(template.code ?? "", templateContent)
      : content(message.html, "message.html");
  const text = content(message.text, "message.text") ?? template?.text ?? null;
  const language = message.merge_language === "handlebars" ? "handlebars" : "mailchimp";
  const merging = message.merge !== false;
  const globalVars = nameValueList(message.global_merge_vars, "message.global_merge_vars");
  const perRcpt = new Map<string, Array<{ name: string; content: unknown }>>();
  if (Array.isArray(message.merge_vars)) {
    for (const mv of message.merge_vars) {
      if (isObject(mv) && typeof mv.rcpt === "string") {
        perRcpt.set(normalizeEmail(mv.rcpt) ?? mv.rcpt, nameValueList(mv.vars, "message.merge_vars[].vars"));
      }
    }
  }
  const rcptMetadata = new Map<string, Record<string, unknown>>();
  if (Array.isArray(message.recipient_metadata)) {
    for (const rm of message.recipient_metadata) {
      if (isObject(rm) && typeof rm.rcpt === "string" && isObject(rm.values)) {
        rcptMetadata.set(normalizeEmail(rm.rcpt) ?? rm.rcpt, rm.values);
      }
    }
  }
  const headers: Record<string, string> = {};
  if (isObject(message.headers)) {
    for (const [name, value] of Object.entries(message.headers))
      if (typeof value === "string") headers[name] = value;
  }

  const outbox: OutboxMessage = {
    id: `out-${++ctx.seq.outbox}`,
    transport: input.transport,
    account: account.id,
    key: maskSecret(key.key),
    test: key.kind === "test",
    createdAt: now,
    message: structuredClone(message) as unknown as MandrillMessage,
    template: template === null ? null : { name: template.slug, content: templateContent },
    async: queued,
    send_at: sendAt === null ? null : formatMandrillTime(sendAt),
    ip_pool: typeof params.ip_pool === "string" ? params.ip_pool : null,
    from: { email: from, name: fromName },
    subject,
    html,
    text,
    headers,
    tags: [...(tags as string[])],
    metadata,
    subaccount,
    recipients: [],
    smtp: input.smtp ?? null,
  };

  const response: MandrillSendResponseItem[] = [];
  const toProcess: Array<{ record: MessageRecord; decision: Decision | null }> = [];
  for (const r of to) {
    const email = normalizeEmail(r.email);
    if (email === undefined) {
      // Bad syntax: `invalid`, no `_id` (spec §2.4).
      response.push({ email: r.email, status: "invalid", reject_reason: null, queued_reason: null });
      outbox.recipients.push({
        ...r,
        status: "invalid",
        reject_reason: null,
        queued_reason: null,
        _id: null,
        subject,
        html,
        text,
      });
      continue;
    }
    const _id = newMessageId();
    const values = mergeValues(globalVars, perRcpt.get(email) ?? []);
    const unsub = (redirect: string | null) =>
      `${ctx.baseUrl}/unsub/${_id}${redirect === null ? "" : `?redirect=${encodeURIComponent(redirect)}`}`;
    const render = (s: string | null) =>
      s === null || !merging ? s : applyMergeTags(s, values, language, unsub);
    const decision =
      sendAt === null && !queued ? decide(account, email, from, subaccount, signed, now) : null;
    const status =
      sendAt !== null ? "scheduled" : queued ? "queued" : decision?.status === "sent" ? "sent" : "rejected";
    const rejectReason = decision?.status === "rejected" ? decision.reason : null;
    const item: MandrillSendResponseItem = {
      email: r.email,
      status,
      reject_reason: rejectReason,
      queued_reason: status === "queued" ? queuedReason : null,
      _id,
    };
    response.push(item);
    const rendered: OutboxRecipient = {
      ...r,
      email,
      status,
      reject_reason: rejectReason,
      queued_reason: item.queued_reason ?? null,
      _id,
      subject: render(subject),
      html: render(html),
      text: render(text),
    };
    outbox.recipients.push(rendered);
    const record: MessageRecord = {
      _id,
      version: newVersion(),
      account,
      outboxId: outbox.id,
      email,
      status,
      rejectReason,
      queuedReason: rendered.queued_reason,
      state: status,
      ts: sendAt ?? now,
      sender: from,
      subject: rendered.subject,
      tags: [...(tags as string[])],
      metadata: { ...metadata, ...(rcptMetadata.get(email) ?? {}) },
      subaccount,
      template: template?.slug ?? null,
      opens: [],
      clicks: [],
      smtpEvents: [],
      test: key.kind === "test",
      reject: null,
    };
    ctx.messages.set(_id, record);
    account.messages.push(record);
    toProcess.push({ record, decision });
  }
  ctx.outbox.push(outbox);

  const run = () => {
    const at = ctx.now();
    for (const { record, decision } of toProcess) {
      settle(ctx, record, decision ?? decide(account, record.email, from, subaccount, signed, at));
    }
  };
  if (sendAt !== null) {
    const work = defer(ctx, sendAt - now, () => {
      ctx.scheduled.delete(outbox.id);
      run();
    });
    ctx.scheduled.set(outbox.id, {
      at: sendAt,
      work,
      run: () => {
        work.cancel();
        ctx.scheduled.delete(outbox.id);
        run();
      },
    });
  } else if (queued) {
    // Queued mail is processed in the background; its outcome is only visible through events (spec §2.3).
    defer(ctx, 0, run);
  } else {
    run();
  }
  return response;
}
