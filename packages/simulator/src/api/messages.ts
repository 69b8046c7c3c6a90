import { MandrillApiError } from "../api-error.js";
import { unixSeconds } from "../mandrill-time.js";
import { sendMessage } from "../send-message.js";
import { type ApiHandler, requireString } from "./api-call.js";

/** `messages/send` (docs/mandrill.md#send-request and docs/mandrill.md#send-response). */
export const send: ApiHandler = ({ ctx, key, params }) =>
  sendMessage(ctx, { key, transport: "api", params, withTemplate: false });

/** `messages/send-template`: a stored template, `template_content` blocks and merge tags. */
export const sendTemplate: ApiHandler = ({ ctx, key, params }) =>
  sendMessage(ctx, { key, transport: "api", params, withTemplate: true });

/** `messages/info` (docs/mandrill.md#api-methods-the-kit-uses): one recipient's message by `_id`. */
export const info: ApiHandler = ({ ctx, account, params }) => {
  const id = requireString(params, "id");
  const m = ctx.messages.get(id);
  if (m === undefined || m.account !== account) {
    throw new MandrillApiError("Unknown_Message", `No message exists with the id '${id}'`);
  }
  const engagement = (e: { ts: number; ip: string; location: string | null; ua: string; url?: string }) => ({
    ts: unixSeconds(e.ts),
    ...(e.url === undefined ? {} : { url: e.url }),
    ip: e.ip,
    location: e.location,
    ua: e.ua,
  });
  return {
    ts: unixSeconds(m.ts),
    _id: m._id,
    sender: m.sender,
    template: m.template,
    subject: m.subject,
    email: m.email,
    tags: [...m.tags],
    opens: m.opens.length,
    opens_detail: m.opens.map(engagement),
    clicks: m.clicks.length,
    clicks_detail: m.clicks.map(engagement),
    state: m.state,
    metadata: { ...m.metadata },
    // Mandrill keeps at most the last three SMTP events here (docs/mandrill.md#api-methods-the-kit-uses).
    smtp_events: m.smtpEvents.slice(-3).map((e) => ({ ts: unixSeconds(e.ts), type: e.type, diag: e.diag })),
  };
};
