// What `get()` returns and what this package throws, so a host needs no direct import of the core.
export {
  isMandrillKitError,
  MandrillKitConfigError,
  MandrillKitCryptoError,
  MandrillKitError,
  MandrillKitNotFoundError,
  MandrillKitStoreError,
  MandrillKitValidationError,
  type MandrillSettings,
  type Secret,
  type VerificationResult,
  type WebhookKey,
} from "@mandrill-kit/core";
export type { CredentialsOptions } from "./credentials-options.js";
export { type CredentialsService, createCredentials } from "./credentials-service.js";
export { addKey, generateKey, type JwkSet, type OctJwk, parseKeySet } from "./key-ring.js";
export type { RotateOptions, RotationReport } from "./key-rotation.js";
export { type MandrillKitMiddleware, type MandrillKitOptions, mandrillKit } from "./mandrill-kit.js";
export { MAX_WEBHOOK_KEYS, type MandrillSettingsInput, SETTINGS_INPUT_FIELDS } from "./settings-input.js";
export { type AuthorizeHook, type MandrillSettingsOptions, mandrillSettings } from "./settings-router.js";
export type { SettingsDescription, SettingsSummary, WebhookKeyDescription } from "./settings-view.js";
