export {
  type CredentialsOptions,
  type CredentialsService,
  createCredentials,
  type RotateOptions,
  type RotationReport,
  type SettingsDescription,
  type SettingsSummary,
  type WebhookKeyDescription,
} from "./credentials-service.js";
export { decryptSecret, encryptSecret, keyIdOf } from "./jwe.js";
export {
  addKey,
  checkKeySet,
  createKeyRing,
  generateKey,
  type JwkSet,
  type KeyRing,
  type OctJwk,
  parseKeySet,
} from "./key-ring.js";
export { type MandrillKitMiddleware, type MandrillKitOptions, mandrillKit } from "./mandrill-kit.js";
export {
  MAX_WEBHOOK_KEYS,
  type MandrillSettingsInput,
  SETTINGS_INPUT_FIELDS,
  type StoredSettings,
  WEBHOOK_KEY_ID,
} from "./settings-input.js";
export { type AuthorizeHook, type MandrillSettingsOptions, mandrillSettings } from "./settings-router.js";
