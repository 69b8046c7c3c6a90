import type { ComponentLogger, SendResult, Store } from "@mandrill-kit/core";
import type { CredentialsService, SettingsDescription } from "@mandrill-kit/credentials";
import type { Sender } from "@mandrill-kit/sender";
import type { MandrillWebhooks } from "@mandrill-kit/webhooks";
import type { RateLimiter } from "./rate-limit.js";
import type { Sessions } from "./session.js";

/** What the page and API routers share. */
export interface AppDeps {
  store: Store;
  credentials: CredentialsService;
  sender: Sender;
  webhooks: MandrillWebhooks;
  /** `true` when the app talks to the in-process simulator rather than Mandrill. */
  simulator: boolean;
  adminToken: string;
  sessions: Sessions;
  limits: { login: RateLimiter; testEmail: RateLimiter };
  log: ComponentLogger;
}

/** The JSON view of an account's settings: the field names, secrets masked, plus the Callback URL. */
export function settingsView(d: SettingsDescription) {
  return {
    account: d.account,
    version: d.version,
    transport: d.transport,
    host: d.host,
    port: d.port,
    username: d.username,
    apiKey: d.apiKey,
    fromEmail: d.fromEmail,
    fromName: d.fromName,
    replyTo: d.replyTo,
    subaccount: d.subaccount,
    webhookKey: d.webhookKeys.find((k) => k.current)?.masked ?? null,
    webhookKeys: d.webhookKeys,
    unsubscribeMode: d.unsubscribeMode,
    callbackUrl: d.callbackUrl,
    lastVerification: d.lastVerification,
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}

/** Per-recipient outcome of a send, as the API and the demo page show it. */
export function recipientsView(result: SendResult) {
  return result.recipients.map((r) => ({ email: r.email, status: r.status, reason: r.rejectReason }));
}

/** Recipients from a form field or JSON (`"a@x, b@y"`, or an array of strings or `{ email, name }`). */
export function parseRecipients(value: unknown): (string | { email: string; name?: string })[] {
  if (typeof value === "string") {
    return value
      .split(/[,;\n]/)
      .map((s) => s.trim())
      .filter((s) => s !== "");
  }
  if (Array.isArray(value)) {
    return value.filter(
      (v): v is string | { email: string; name?: string } =>
        typeof v === "string" ||
        (v !== null && typeof v === "object" && typeof (v as { email?: unknown }).email === "string"),
    );
  }
  return [];
}
