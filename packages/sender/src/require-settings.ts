import {
  type CredentialsReader,
  MandrillKitNotConfiguredError,
  type MandrillSettings,
  requireAccountId,
} from "@mandrill-kit/core";

/** Requires settings with an API key; throws `ERR_MK_NOT_CONFIGURED` in plain words otherwise. */
export async function requireSettings(
  credentials: CredentialsReader,
  account: string,
): Promise<MandrillSettings> {
  const settings = await credentials.get(requireAccountId(account));
  if (settings === undefined) {
    throw new MandrillKitNotConfiguredError(
      `Account "${account}" has no Mandrill settings yet: open Settings → Integrate Email → Mandrill and save them.`,
    );
  }
  if (settings.apiKey === null)
    throw new MandrillKitNotConfiguredError(`Account "${account}" has no Mandrill API key saved.`);
  return settings;
}
