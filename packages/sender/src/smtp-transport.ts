import type { MandrillSettings } from "@mandrill-kit/core";
import nodemailer, { type Transporter } from "nodemailer";
import type { ResolvedRecipient, SendMessage } from "./message.js";
import { mandrillTime } from "./message.js";

/** Where and how to connect for an account (override to route SMTP elsewhere, e.g. a simulator). */
export interface SmtpRoute {
  host: string;
  port: number;
  /** Implicit TLS (port 465). STARTTLS is required otherwise. */
  secure: boolean;
  /** Extra TLS options, e.g. `{ ca }` for a private CA. */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };
}

/** SMTP options of the sender. */
export interface SmtpOptions {
  /** Connections per account's pool. @default 2 */
  maxConnections?: number;
  /** Messages per connection before it is recycled. @default 100 */
  maxMessages?: number;
  /** @default 10000 */
  connectionTimeoutMs?: number;
  /** @default 30000 */
  socketTimeoutMs?: number;
  /** Decides where an account's SMTP goes. @default the account's host and port (465 → implicit TLS) */
  route?: (settings: MandrillSettings) => SmtpRoute;
}

/** The Mandrill `X-MC-*` headers for a message (spec §1.3). */
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

/** The default route: the account's host and port; 465 means implicit TLS. */
export function defaultSmtpRoute(settings: MandrillSettings): SmtpRoute {
  return { host: settings.host, port: settings.port, secure: settings.port === 465 };
}

/** One pooled nodemailer transport per account and credentials version. */
export class SmtpPools {
  readonly #pools = new Map<string, { version: number; transporter: Transporter; route: SmtpRoute }>();
  readonly #options: SmtpOptions;

  constructor(options: SmtpOptions = {}) {
    this.#options = options;
  }

  /** The account's pooled transport and where it goes, rebuilt when its settings changed (new version). */
  transporter(settings: MandrillSettings): { transporter: Transporter; route: SmtpRoute } {
    const existing = this.#pools.get(settings.account);
    if (existing !== undefined && existing.version === settings.version) return existing;
    existing?.transporter.close();
    const route = (this.#options.route ?? defaultSmtpRoute)(settings);
    const transporter = nodemailer.createTransport({
      pool: true,
      host: route.host,
      port: route.port,
      secure: route.secure,
      // Mandrill offers STARTTLS on 25, 587 and 2525: never send the API key over a plain connection.
      requireTLS: !route.secure,
      auth: { user: settings.username, pass: settings.apiKey?.reveal() ?? "" },
      maxConnections: this.#options.maxConnections ?? 2,
      maxMessages: this.#options.maxMessages ?? 100,
      connectionTimeout: this.#options.connectionTimeoutMs ?? 10_000,
      greetingTimeout: this.#options.connectionTimeoutMs ?? 10_000,
      socketTimeout: this.#options.socketTimeoutMs ?? 30_000,
      ...(route.tls === undefined ? {} : { tls: route.tls }),
    });
    const pooled = { version: settings.version, transporter, route };
    this.#pools.set(settings.account, pooled);
    return pooled;
  }

  /** Closes every pool. */
  close(): void {
    for (const { transporter } of this.#pools.values()) transporter.close();
    this.#pools.clear();
  }
}
