import type { CredentialRecord, MandrillSettings, VerificationResult } from "@mandrill-kit/core";
import { maskSecret } from "@mandrill-kit/core/plugin";
import { API_KEY_FIELD, storedSettings } from "./stored-record.js";

/** One masked webhook key in the admin view. */
export interface WebhookKeyDescription {
  id: string;
  /** `"••••abcd"` */
  masked: string;
  addedAt: number;
  /** The current key (the one Mandrill should be using); the others are still accepted. */
  current: boolean;
}

/** The admin view of an account's settings: secrets masked to their last 4 characters. */
export interface SettingsDescription {
  account: string;
  version: number;
  transport: MandrillSettings["transport"];
  host: string;
  port: number;
  username: string;
  /** Masked (`"••••abcd"`), or `null` when none is saved. */
  apiKey: string | null;
  hasApiKey: boolean;
  fromEmail: string;
  fromName: string;
  replyTo: string | null;
  subaccount: string | null;
  webhookKeys: WebhookKeyDescription[];
  hasWebhookKey: boolean;
  unsubscribeMode: MandrillSettings["unsubscribeMode"];
  /** Paste this into Mandrill → Settings → Webhooks. */
  callbackUrl: string;
  lastVerification: VerificationResult | null;
  createdAt: number;
  updatedAt: number;
}

/** A line of `CredentialsService.list()` (no decryption needed). */
export interface SettingsSummary {
  account: string;
  transport: MandrillSettings["transport"];
  fromEmail: string;
  hasApiKey: boolean;
  hasWebhookKey: boolean;
  /** The last check of the settings (key checked on save, test email), or `null` when never checked. */
  lastVerification: MandrillSettings["lastVerification"];
  updatedAt: number;
}

/** The admin view of decrypted settings: every secret masked. */
export function describeSettings(s: MandrillSettings, callbackUrl: string): SettingsDescription {
  return {
    account: s.account,
    version: s.version,
    transport: s.transport,
    host: s.host,
    port: s.port,
    username: s.username,
    apiKey: s.apiKey === null ? null : maskSecret(s.apiKey.reveal()),
    hasApiKey: s.apiKey !== null,
    fromEmail: s.fromEmail,
    fromName: s.fromName,
    replyTo: s.replyTo,
    subaccount: s.subaccount,
    webhookKeys: s.webhookKeys.map((k, i) => ({
      id: k.id,
      masked: maskSecret(k.key.reveal()),
      addedAt: k.addedAt,
      current: i === 0,
    })),
    hasWebhookKey: s.webhookKeys.length > 0,
    unsubscribeMode: s.unsubscribeMode,
    callbackUrl,
    lastVerification: s.lastVerification,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

/** The list line of a stored record, read without decrypting anything. */
export function summarizeRecord(record: CredentialRecord): SettingsSummary {
  const s = storedSettings(record);
  return {
    account: record.account,
    transport: s.transport,
    fromEmail: s.fromEmail,
    hasApiKey: record.secrets[API_KEY_FIELD] !== undefined,
    hasWebhookKey: s.webhookKeys.length > 0,
    lastVerification: s.lastVerification ?? null,
    updatedAt: record.updatedAt,
  };
}
