import type { MandrillSettings } from "@mandrill-kit/core";
import { mandrillTime, type ResolvedRecipient, type SendMessage } from "../message.js";

/** The Mandrill `X-MC-*` headers for a message (docs/mandrill.md#x-mc-headers). */
export function mandrillSmtpHeaders(
  message: SendMessage,
  settings: MandrillSettings,
  recipients: readonly ResolvedRecipient[],
  correlationId: string,
): Record<string, string | string[]> {
  const h: Record<string, string | string[]> = {};
  if (message.tags !== undefined && message.tags.length > 0) h["X-MC-Tags"] = message.tags.join(",");
  h["X-MC-Metadata"] = JSON.stringify({ ...(message.metadata ?? {}), mk_correlation_id: correlationId });
  const keep = new Map(recipients.map((r) => [r.normalized, r.email]));
  const perRecipientMeta = Object.entries(message.recipientMetadata ?? {})
    .filter(([address]) => keep.has(address.trim().toLowerCase()))
    .map(([address, values]) => JSON.stringify({ _rcpt: address, ...values }));
  if (perRecipientMeta.length > 0) h["X-MC-Metadata"] = [h["X-MC-Metadata"] as string, ...perRecipientMeta];
  const subaccount = message.subaccount ?? settings.subaccount;
  if (subaccount) h["X-MC-Subaccount"] = subaccount;
  if (message.template !== undefined) h["X-MC-Template"] = `${message.template.name}|main`;
  const mergeVars: string[] = [];
  if (message.mergeVars !== undefined) mergeVars.push(JSON.stringify(message.mergeVars));
  for (const [address, vars] of Object.entries(message.recipientMergeVars ?? {})) {
    if (keep.has(address.trim().toLowerCase())) mergeVars.push(JSON.stringify({ _rcpt: address, ...vars }));
  }
  if (mergeVars.length > 0)
    h["X-MC-MergeVars"] = mergeVars.length === 1 ? (mergeVars[0] as string) : mergeVars;
  if (message.mergeLanguage !== undefined) h["X-MC-MergeLanguage"] = message.mergeLanguage;
  const track = [
    message.trackOpens ? "opens" : undefined,
    message.trackClicks ? "clicks_all" : undefined,
  ].filter((t) => t !== undefined);
  if (track.length > 0) h["X-MC-Track"] = track.join(",");
  if (message.important !== undefined) h["X-MC-Important"] = message.important ? "true" : "false";
  if (message.preserveRecipients !== undefined)
    h["X-MC-PreserveRecipients"] = message.preserveRecipients ? "true" : "false";
  if (message.ipPool !== undefined) h["X-MC-IpPool"] = message.ipPool;
  if (message.sendAt !== undefined) h["X-MC-SendAt"] = mandrillTime(message.sendAt);
  return h;
}
