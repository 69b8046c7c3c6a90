import {
  type MandrillSettings,
  requireAccountId,
  Secret,
  type Store,
  type WebhookKey,
} from "@mandrill-kit/core";
import type { NetworkPolicy } from "@mandrill-kit/core/plugin";
import { type MandrillSettingsInput, validateSettingsInput } from "./settings-input.js";
import { API_KEY_FIELD, storedSettings } from "./stored-record.js";

/** What {@link previewSettings} reads. */
export interface PreviewDeps {
  store: Store;
  /** The decrypted saved settings (the service's cached `get`). */
  get(account: string): Promise<MandrillSettings | undefined>;
  network: NetworkPolicy;
  now(): number;
  newKeyId(): string;
}

/**
 * The settings `save(account, input)` would store, validated the same way (same errors), without
 * storing anything: omitted or empty secrets are the saved ones, typed ones are used as typed.
 */
export async function previewSettings(
  deps: PreviewDeps,
  account: string,
  input: MandrillSettingsInput,
): Promise<MandrillSettings> {
  requireAccountId(account);
  const record = await deps.store.credentials.get(account);
  const previous =
    record === undefined
      ? undefined
      : { settings: storedSettings(record), hasApiKey: record.secrets[API_KEY_FIELD] !== undefined };
  const now = deps.now();
  const change = validateSettingsInput(input, previous, deps.newKeyId, now, deps.network);
  const current = record === undefined ? undefined : await deps.get(account);
  const apiKey =
    change.apiKey === undefined
      ? (current?.apiKey ?? null)
      : change.apiKey === null
        ? null
        : new Secret(change.apiKey);
  const webhookKeys: WebhookKey[] = [];
  change.settings.webhookKeys.forEach((k, i) => {
    const key =
      i === 0 && change.webhookKey !== undefined
        ? new Secret(change.webhookKey)
        : current?.webhookKeys.find((w) => w.id === k.id)?.key;
    if (key !== undefined) webhookKeys.push({ id: k.id, addedAt: k.addedAt, key });
  });
  const { webhookKeys: _ids, ...rest } = change.settings;
  return {
    ...rest,
    account,
    version: record?.version ?? 0,
    apiKey,
    webhookKeys,
    createdAt: record?.createdAt ?? now,
    updatedAt: record?.updatedAt ?? now,
  };
}
