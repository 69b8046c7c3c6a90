import {
  type MandrillSendResponseItem,
  type MandrillSettings,
  normalizeEmail,
  type RecipientResult,
  rejectReasonSide,
} from "@mandrill-kit/core";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";
import { AmbiguousRequestError, type ApiClient } from "../api-client.js";
import { mandrillTime, toMandrillMessage } from "../message.js";
import { everyRecipient, recipientResult, type Transport, type TransportRequest } from "./transport.js";

function apiKey(settings: MandrillSettings): string {
  return settings.apiKey?.reveal() ?? "";
}

/** Mandrill's per-recipient answer as the kit's result. */
function fromMandrill(email: string, item: MandrillSendResponseItem): RecipientResult {
  const reason = item.reject_reason ?? null;
  const refused = item.status === "rejected" || item.status === "invalid";
  return recipientResult(email, item.status, {
    messageId: item._id ?? null,
    rejectReason: refused ? (reason ?? (item.status === "invalid" ? "invalid" : null)) : null,
    rejectSide:
      item.status === "rejected" ? rejectReasonSide(reason) : item.status === "invalid" ? "recipient" : null,
    queuedReason: item.status === "queued" ? (item.queued_reason ?? null) : null,
  });
}

/** The `messages/send` (or `send-template`) request body. */
function requestBody(request: TransportRequest): Record<string, unknown> {
  const { message, settings, recipients, correlationId, headers } = request;
  const body: Record<string, unknown> = {
    message: toMandrillMessage(message, settings, recipients, correlationId, headers),
    ...(message.async === undefined ? {} : { async: message.async }),
    ...(message.ipPool === undefined ? {} : { ip_pool: message.ipPool }),
    ...(message.sendAt === undefined ? {} : { send_at: mandrillTime(message.sendAt) }),
  };
  if (message.template === undefined) return body;
  return {
    ...body,
    template_name: message.template.name,
    template_content: Object.entries(message.template.content ?? {}).map(([name, content]) => ({
      name,
      content,
    })),
  };
}

/**
 * The HTTP API transport: `messages/send` or `messages/send-template` through `client` (retries only
 * what provably did not reach Mandrill). `verify` calls `users/ping2`.
 */
export function createApiTransport(client: ApiClient, log: ComponentLogger): Transport {
  return {
    name: "api",
    async send(request) {
      const { settings, recipients, correlationId } = request;
      const method = request.message.template === undefined ? "messages/send" : "messages/send-template";
      let items: MandrillSendResponseItem[];
      try {
        items = await client.call<MandrillSendResponseItem[]>(method, apiKey(settings), requestBody(request));
      } catch (error) {
        if (!(error instanceof AmbiguousRequestError)) throw error;
        log.warn({ account: settings.account, correlationId }, `send outcome unknown: ${error.message}`);
        return everyRecipient(recipients, "unknown");
      }
      const byAddress = new Map<string, MandrillSendResponseItem>();
      for (const item of Array.isArray(items) ? items : []) {
        const key = normalizeEmail(item?.email);
        if (key !== undefined) byAddress.set(key, item);
      }
      return recipients.map((r) => {
        const item = byAddress.get(r.normalized);
        return item === undefined ? recipientResult(r.email, "unknown") : fromMandrill(r.email, item);
      });
    },
    async verify(settings) {
      await client.call("users/ping2", apiKey(settings));
    },
    async close() {
      await client.close();
    },
  };
}
