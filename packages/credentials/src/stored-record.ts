import { type CredentialRecord, type MandrillSettings, Secret, type WebhookKey } from "@mandrill-kit/core";
import { decryptSecret, encryptSecret } from "./jwe.js";
import type { KeyRing } from "./key-ring.js";
import type { SettingsChange, StoredSettings } from "./settings-input.js";

/** Secrets are stored per field; the field name is bound into each ciphertext's header. */
export const API_KEY_FIELD = "apiKey";

/** The secret field of one webhook key. */
export const webhookField = (id: string): string => `webhookKey:${id}`;

/** The non-secret settings of a record, as `save()` wrote them. */
export const storedSettings = (record: CredentialRecord): StoredSettings =>
  record.settings as unknown as StoredSettings;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !(value instanceof Secret) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Decrypts a record into frozen settings whose secrets are `Secret`s. */
export async function decryptRecord(ring: KeyRing, record: CredentialRecord): Promise<MandrillSettings> {
  const s = storedSettings(record);
  const apiKeyJwe = record.secrets[API_KEY_FIELD];
  const apiKey =
    apiKeyJwe === undefined
      ? null
      : new Secret(await decryptSecret(ring, record.account, API_KEY_FIELD, apiKeyJwe));
  const webhookKeys: WebhookKey[] = [];
  for (const k of s.webhookKeys) {
    const jwe = record.secrets[webhookField(k.id)];
    if (jwe === undefined) continue;
    webhookKeys.push({
      id: k.id,
      addedAt: k.addedAt,
      key: new Secret(await decryptSecret(ring, record.account, webhookField(k.id), jwe)),
    });
  }
  return deepFreeze({
    account: record.account,
    version: record.version,
    transport: s.transport,
    host: s.host,
    port: s.port,
    username: s.username,
    apiKey,
    fromEmail: s.fromEmail,
    fromName: s.fromName,
    replyTo: s.replyTo,
    subaccount: s.subaccount,
    webhookKeys,
    unsubscribeMode: s.unsubscribeMode,
    lastVerification: s.lastVerification,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  });
}

/** The secrets of `record` (if any) with `change` applied: new ones encrypted, removed ones dropped. */
export async function applySecretChange(
  ring: KeyRing,
  account: string,
  existing: Readonly<Record<string, string>> | undefined,
  change: SettingsChange,
): Promise<Record<string, string>> {
  const secrets: Record<string, string> = { ...(existing ?? {}) };
  if (change.apiKey === null) delete secrets[API_KEY_FIELD];
  else if (change.apiKey !== undefined)
    secrets[API_KEY_FIELD] = await encryptSecret(ring, account, API_KEY_FIELD, change.apiKey);
  for (const id of change.removedWebhookKeys) delete secrets[webhookField(id)];
  const current = change.settings.webhookKeys[0];
  if (change.webhookKey !== undefined && current !== undefined) {
    const field = webhookField(current.id);
    secrets[field] = await encryptSecret(ring, account, field, change.webhookKey);
  }
  return secrets;
}
