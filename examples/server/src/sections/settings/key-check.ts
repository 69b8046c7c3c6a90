import { MandrillKitApiError } from "@mandrill-kit/core";
import type { AppDeps } from "../../deps.js";

/** What the check on save found, in one sentence for the "Saved." message. */
export interface KeyCheck {
  ok: boolean;
  message: string;
}

/**
 * Checks the saved API key with Mandrill (`users/ping2`) right after a save: a refused key is
 * reported (the settings stay saved) and recorded as the account's last check, so the Accounts list
 * and Settings show whether the key works.
 */
export async function checkKeyOnSave(
  deps: Pick<AppDeps, "credentials" | "sender" | "log">,
  account: string,
): Promise<KeyCheck> {
  const settings = await deps.credentials.get(account);
  const key = settings?.apiKey?.reveal();
  if (key === undefined)
    return { ok: true, message: "Secrets are stored encrypted and shown masked from now on." };
  let result: { ok: boolean; summary: string } | undefined;
  try {
    await deps.sender.api.call("users/ping2", key);
    result = { ok: true, summary: "Mandrill accepted the API key." };
  } catch (error) {
    if (error instanceof MandrillKitApiError && error.mandrillName === "Invalid_Key") {
      result = {
        ok: false,
        summary:
          "Mandrill refused the API key: copy an active key from Mandrill → Settings → SMTP & API Info and save it again.",
      };
    }
  }
  if (result === undefined) {
    return {
      ok: false,
      message:
        "The API key was not checked: Mandrill could not be reached. Use Test connection to try again.",
    };
  }
  await deps.credentials
    .recordVerification(account, { at: Date.now(), ...result })
    .catch((error: unknown) => {
      deps.log.warn({ account, err: error }, "could not record the key check");
    });
  return { ok: result.ok, message: `Secrets are stored encrypted and shown masked. ${result.summary}` };
}
