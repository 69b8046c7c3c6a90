import type { Secret } from "./redact.js";

/** How the kit sends for an account: SMTP through nodemailer, or the Mandrill HTTP API. */
export type MandrillTransport = "smtp" | "api";

/**
 * How unsubscribes are handled for an account:
 * - `"mandrill"`: Mandrill's own footer / `*|UNSUB:url|*` merge tag (configured in Mandrill);
 * - `"one-click"`: the kit adds `List-Unsubscribe` + `List-Unsubscribe-Post` (RFC 8058) and serves the endpoint;
 * - `"none"`: nothing is added.
 */
export type UnsubscribeMode = "none" | "mandrill" | "one-click";

/** The outcome of the last "Send a test email" / diagnosis, kept with the settings. */
export interface VerificationResult {
  at: number;
  ok: boolean;
  /** One line, plain words (never a secret). */
  summary: string;
}

/** A webhook key with its non-secret handle. The first of an account's keys is the current one. */
export interface WebhookKey {
  /** Random id, used to remove this key (never derived from the key). */
  id: string;
  key: Secret;
  addedAt: number;
}

/** One account's Mandrill settings, decrypted, for in-process use by the sender and webhooks. */
export interface MandrillSettings {
  account: string;
  /** Increases on every save; changes whenever any field or secret changes. */
  version: number;
  transport: MandrillTransport;
  /** @default "smtp.mandrillapp.com" */
  host: string;
  /** 25, 587 and 2525 use STARTTLS; 465 implicit TLS. @default 587 */
  port: number;
  username: string;
  apiKey: Secret | null;
  fromEmail: string;
  fromName: string;
  replyTo: string | null;
  subaccount: string | null;
  /** Current key first; during a rotation the previous ones follow and are still accepted. */
  webhookKeys: WebhookKey[];
  unsubscribeMode: UnsubscribeMode;
  lastVerification: VerificationResult | null;
  createdAt: number;
  updatedAt: number;
}

/** The Mandrill SMTP host every account uses. */
export const MANDRILL_SMTP_HOST = "smtp.mandrillapp.com";

/** SMTP ports Mandrill accepts (docs/mandrill.md#smtp-connection-and-authentication): STARTTLS on 25, 587, 2525; implicit TLS on 465. */
export const MANDRILL_SMTP_PORTS = [25, 587, 2525, 465] as const;
