import { signWebhook } from "@mandrill-kit/core/plugin";
import type { CredentialsService } from "@mandrill-kit/credentials";

/** What "Send a test webhook" found. */
export interface TestWebhookOutcome {
  ok: boolean;
  message: string;
}

/**
 * "Send a test webhook": posts an empty batch (`mandrill_events=[]`, as Mandrill's URL check does)
 * signed with the account's current webhook key to its Callback URL, through `PUBLIC_URL` — so it
 * proves that address reaches this app and that the saved key verifies. Nothing is stored.
 */
export async function sendTestWebhook(
  credentials: CredentialsService,
  account: string,
  timeoutMs = 5000,
): Promise<TestWebhookOutcome> {
  const settings = await credentials.get(account);
  const key = settings?.webhookKeys[0]?.key.reveal();
  if (key === undefined) {
    return {
      ok: false,
      message:
        "No webhook key is saved: register the Callback URL with Mandrill (above) or save its key first.",
    };
  }
  const url = credentials.callbackUrl(account);
  const signed = signWebhook({ key, url, events: [] });
  let status: number;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: signed.headers,
      body: signed.body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.status;
    await response.body?.cancel();
  } catch {
    return {
      ok: false,
      message: `This server could not reach ${url}: check PUBLIC_URL (the address Mandrill uses) and any proxy in front of the app.`,
    };
  }
  if (status === 200) {
    return {
      ok: true,
      message: `The Callback URL answered 200: a test batch signed with the current key reached this app and was verified.`,
    };
  }
  return {
    ok: false,
    message:
      status === 401 || status === 403
        ? `The Callback URL refused the signed test batch (HTTP ${status}): PUBLIC_URL must be exactly the address Mandrill posts to, because the signature covers it.`
        : `The Callback URL answered HTTP ${status} instead of 200: check that PUBLIC_URL points at this app.`,
  };
}
