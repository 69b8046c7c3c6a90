import type { Clock, MandrillSettings } from "@mandrill-kit/core";
import { mapBounded } from "./bounded.js";
import type { ResolvedRecipient, SendMessage } from "./message.js";
import type { Transport, TransportRequest } from "./transports/transport.js";
import { signUnsubscribeToken } from "./unsubscribe-token.js";

/** What the one-click decorator needs, resolved from the sender's `unsubscribe` option. */
export interface OneClickConfig {
  secret: string;
  /** Public base URL of the app; without one, no link can be made and nothing is added. */
  publicUrl: string | undefined;
  path: string;
  mailto?: string | undefined;
  footer: boolean;
  /** Per-recipient copies of one send in flight at once. */
  concurrency: number;
  clock: Clock;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function hasHeader(message: SendMessage, name: string): boolean {
  return Object.keys(message.headers ?? {}).some((h) => h.toLowerCase() === name.toLowerCase());
}

/** True when this send gets one-click unsubscribe: the account asks for it and the caller did not set its own. */
function applies(config: OneClickConfig, settings: MandrillSettings, message: SendMessage): boolean {
  return (
    settings.unsubscribeMode === "one-click" &&
    config.publicUrl !== undefined &&
    !hasHeader(message, "List-Unsubscribe")
  );
}

/** The recipient's own copy: List-Unsubscribe headers (RFC 8058) and, unless turned off, a footer link. */
function personalise(
  config: OneClickConfig,
  request: TransportRequest,
  recipient: ResolvedRecipient,
): TransportRequest {
  const token = signUnsubscribeToken(config.secret, {
    account: request.settings.account,
    email: recipient.normalized,
    correlationId: request.correlationId,
    iat: Math.floor(config.clock.now() / 1000),
  });
  const url = `${(config.publicUrl ?? "").replace(/\/+$/, "")}${config.path}/${token}`;
  const targets = [
    `<${url}>`,
    ...(config.mailto === undefined ? [] : [`<mailto:${config.mailto}?subject=unsubscribe>`]),
  ];
  const headers = {
    ...request.headers,
    "List-Unsubscribe": targets.join(", "),
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
  };
  const { message } = request;
  const withFooter: SendMessage = config.footer
    ? {
        ...message,
        ...(message.html === undefined
          ? {}
          : {
              html: `${message.html}\n<p style="font-size:12px;color:#666">Don't want these emails? <a href="${escapeHtml(url)}">Unsubscribe</a>.</p>`,
            }),
        ...(message.text === undefined ? {} : { text: `${message.text}\n\n--\nUnsubscribe: ${url}\n` }),
      }
    : message;
  return { ...request, message: withFooter, recipients: [recipient], headers };
}

/**
 * One-click unsubscribe as a decorator of a transport: for accounts in `"one-click"` mode, each
 * recipient gets their own copy with a signed, account-bound link (List-Unsubscribe cannot carry
 * merge tags, docs/mandrill.md#x-mc-headers), at most `concurrency` copies in flight. Other sends pass through unchanged.
 * A copy that fails stops the copies not yet started, and the send rejects with that error.
 */
export function withOneClickUnsubscribe(transport: Transport, config: OneClickConfig): Transport {
  return {
    name: transport.name,
    async send(request) {
      if (!applies(config, request.settings, request.message)) return transport.send(request);
      const copies = await mapBounded(request.recipients, config.concurrency, (recipient) =>
        transport.send(personalise(config, request, recipient)),
      );
      return copies.flat();
    },
    verify: (settings) => transport.verify(settings),
    close: () => transport.close(),
  };
}
