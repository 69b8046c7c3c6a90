import { MandrillKitValidationError } from "@mandrill-kit/core";
import type { CredentialsService } from "@mandrill-kit/credentials";
import { type ApiClient, requireSettings } from "@mandrill-kit/sender";

/** The events the Callback URL needs for suppressions (Mandrill's names). */
export const SUPPRESSION_EVENTS = ["hard_bounce", "soft_bounce", "reject", "unsub", "spam"] as const;

/** Events an admin may tick on the Webhooks page, with Mandrill's labels. */
export const WEBHOOK_EVENT_CHOICES: readonly { event: string; label: string }[] = [
  { event: "hard_bounce", label: "Message Is Bounced" },
  { event: "soft_bounce", label: "Message Is Soft-Bounced" },
  { event: "reject", label: "Message Is Rejected" },
  { event: "unsub", label: "Message Recipient Unsubscribes" },
  { event: "spam", label: "Message Is Marked As Spam" },
  { event: "send", label: "Message Is Sent" },
  { event: "deferral", label: "Message Is Delayed" },
  { event: "open", label: "Message Is Opened" },
  { event: "click", label: "Message Is Clicked" },
  { event: "blacklist", label: "Denylist sync" },
  { event: "whitelist", label: "Allowlist sync" },
];

interface MandrillWebhook {
  id: number;
  url: string;
  auth_key: string;
  events: string[];
}

/** What {@link registerCallbackUrl} did. */
export interface RegistrationResult {
  callbackUrl: string;
  webhookId: number;
  /** `true` when a webhook was added, `false` when an existing one for the URL was updated. */
  created: boolean;
  events: string[];
  /** `true` when Mandrill's key differed from the current one and was saved. */
  keySaved: boolean;
  /** The saved key, masked. */
  webhookKey: string;
}

/**
 * "Register the Callback URL with Mandrill": with the account's API key, finds the webhook for the
 * account's Callback URL (`webhooks/list`), updates its events or adds it (`webhooks/add`, which makes
 * Mandrill check the URL first), and saves the returned `auth_key` as the account's current webhook
 * key — so nobody copies keys by hand. Works against the simulator and the real Mandrill.
 */
export async function registerCallbackUrl(
  deps: { credentials: CredentialsService; api: ApiClient },
  account: string,
  events: readonly string[] = SUPPRESSION_EVENTS,
): Promise<RegistrationResult> {
  const known = new Set(WEBHOOK_EVENT_CHOICES.map((c) => c.event));
  const bad = events.filter((e) => !known.has(e));
  if (events.length === 0 || bad.length > 0) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      events.length === 0 ? "Tick at least one event." : `Unknown Mandrill event ${JSON.stringify(bad[0])}.`,
      [{ field: "events", message: `must be some of ${[...known].join(", ")}` }],
    );
  }
  const settings = await requireSettings(deps.credentials, account);
  const key = settings.apiKey?.reveal() ?? "";
  const callbackUrl = deps.credentials.callbackUrl(account);
  const hooks = await deps.api.call<MandrillWebhook[]>("webhooks/list", key);
  const existing = Array.isArray(hooks) ? hooks.find((h) => h.url === callbackUrl) : undefined;
  const hook =
    existing === undefined
      ? await deps.api.call<MandrillWebhook>("webhooks/add", key, {
          url: callbackUrl,
          description: `mandrill-kit (${account})`,
          events: [...events],
        })
      : await deps.api.call<MandrillWebhook>("webhooks/update", key, {
          id: existing.id,
          url: callbackUrl,
          events: [...events],
        });
  const authKey = hook.auth_key ?? existing?.auth_key;
  const current = settings.webhookKeys[0];
  let keySaved = false;
  if (typeof authKey === "string" && authKey !== "" && current?.key.reveal() !== authKey) {
    // Keep the previous keys accepted (batches already signed with them), within the kit's limit of 5.
    const removeWebhookKeys = settings.webhookKeys.slice(3).map((k) => k.id);
    await deps.credentials.save(account, {
      webhookKey: authKey,
      ...(removeWebhookKeys.length > 0 ? { removeWebhookKeys } : {}),
    });
    keySaved = true;
  }
  const described = await deps.credentials.describe(account);
  return {
    callbackUrl,
    webhookId: hook.id,
    created: existing === undefined,
    events: [...events],
    keySaved,
    webhookKey: described?.webhookKeys.find((k) => k.current)?.masked ?? "",
  };
}
